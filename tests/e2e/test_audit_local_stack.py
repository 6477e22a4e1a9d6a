"""The audit log, the diagnosis and the import on the local stack (`python -m idp_local` with its OfficeSpace
stand-in), over real HTTP: the embedded AWS's table from template.yaml (gsi2 included) and the stand-in's
SCIM server."""
from __future__ import annotations

import pytest
import requests

from idp_testing.saml_browser import Browser
from idp_testing.stack import start_stack, stop_stack

SCIM_USER = "urn:ietf:params:scim:schemas:core:2.0:User"


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    running = start_stack(tmp_path_factory.mktemp("audit-stack"), standin=True)
    yield running
    stop_stack(running)


def test_events_diagnosis_and_import_over_http(stack):
    s, base = stack.admin(), stack.base_url
    sp = requests.Session()
    sp.headers.update({"Authorization": f"Bearer {stack.scim_token}", "Content-Type": "application/scim+json"})
    user = s.post(f"{base}/admin/users", json={"username": "aud-ann", "email": "aud-ann@example.com", "firstname": "Ann",
                                               "lastname": "Lee", "password": "aud-Secret-pass-1"}, timeout=10).json()
    assert s.post(f"{base}/admin/apps", json={"slug": "aud", "label": "Aud", "sp_entity_id": "aud.example",
                                              "acs_urls": ["https://aud.example/acs"]}, timeout=30).status_code == 201
    assert s.put(f"{base}/admin/apps/aud/users/{user['id']}", timeout=10).status_code == 204

    browser = Browser(base)  # keeps the __Host- cookies over the local stack's plain http
    assert browser.login(browser.get("/login"), "aud-ann", "wrong-password").status_code == 401
    events = s.get(f"{base}/admin/events", params={"user_id": user["id"]}, timeout=10).json()
    failed = next(e for e in events["items"] if e["type"] == "login")
    assert failed["outcome"] == "failure" and failed["reason"] == "wrong_password" and failed["ip"] == "127.0.0.1"
    assert any(e["type"] == "admin.user.created" and "password" in e["changes"] for e in events["items"])
    assert "aud-Secret-pass-1" not in str(events)
    assert s.get(f"{base}/admin/apps/aud/users/{user['id']}/diagnosis", timeout=10).json()["can_sign_in"] is True

    existing = sp.post(f"{stack.scim_base_url}/Users", json={"schemas": [SCIM_USER], "userName": "aud-ann@example.com",
                                                              "name": {"givenName": "Annie", "familyName": "Lee"}}, timeout=10)
    assert existing.status_code == 201, existing.text
    assert s.put(f"{base}/admin/apps/aud/provisioning", json={"base_url": stack.scim_base_url, "token": stack.scim_token,
                                                              "enabled": True, "group_management": False,
                                                              "require_import_confirmation": True}, timeout=10).status_code == 200
    report = s.post(f"{base}/admin/apps/aud/provisioning/import", timeout=30).json()
    row = next(r for r in report["items"] if r["sp_id"] == existing.json()["id"])
    assert row["status"] == "matched" and row["user_id"] == user["id"]
    done = s.post(f"{base}/admin/apps/aud/provisioning/import/{report['id']}/confirm",
                  json={"links": [{"sp_id": row["sp_id"], "user_id": user["id"]}]}, timeout=30)
    assert done.status_code == 200, done.text
    pushed = s.post(f"{base}/admin/apps/aud/provisioning/users/{user['id']}/sync", timeout=30).json()
    assert pushed["ok"] is True, pushed
    found = sp.get(f"{stack.scim_base_url}/Users", params={"filter": 'userName eq "aud-ann@example.com"'}, timeout=10).json()
    assert found["totalResults"] == 1 and found["Resources"][0]["name"]["givenName"] == "Ann"
