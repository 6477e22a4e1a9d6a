"""`python -m idp_local` started as a user starts it, the admin API driven over real HTTP, Ctrl-C stops it."""
from __future__ import annotations

import requests

from idp_testing.lambda_events import ADMIN_TOKEN
from idp_testing.stack import start_stack, stop_stack


def test_admin_api_over_http(local_stack):
    s = local_stack.admin()
    base = local_stack.base_url
    assert requests.get(f"{base}/healthz", timeout=5).json() == {"status": "ok"}
    assert requests.get(f"{base}/admin/users", timeout=5).status_code == 401

    r = s.post(f"{base}/admin/users", json={"username": "e2e-ada", "email": "e2e-ada@example.com", "firstname": "Ada",
                                           "lastname": "Lovelace", "password": "e2e-Secret-pass-1"}, timeout=10)
    assert r.status_code == 201, r.text
    user = r.json()
    assert "password" not in r.text and "e2e-Secret-pass-1" not in r.text
    r = s.post(f"{base}/admin/users", data="{broken", headers={"Content-Type": "application/json"}, timeout=10)
    assert r.status_code == 400 and r.json()["error"] == "invalid_json"
    r = s.post(f"{base}/admin/users", json={"username": "E2E-ADA", "email": "x@example.com", "firstname": "A", "lastname": "B"}, timeout=10)
    assert r.status_code == 409 and "username" in r.json()["message"]

    group = s.post(f"{base}/admin/groups", json={"name": "e2e-eng"}, timeout=10).json()
    assert s.put(f"{base}/admin/groups/{group['id']}/members/{user['id']}", timeout=10).status_code == 204
    r = s.post(f"{base}/admin/apps", json={"slug": "e2e-app", "label": "E2E", "sp_entity_id": "e2e.example",
                                          "acs_urls": ["https://e2e.example/acs"]}, timeout=30)
    assert r.status_code == 201, r.text
    app = r.json()
    assert app["sso_url"] == f"{base}/saml2/e2e-app" and app["certificate_fingerprint_sha256"]
    assert s.put(f"{base}/admin/apps/e2e-app/groups/{group['id']}", timeout=10).status_code == 204
    assert s.patch(f"{base}/admin/apps/e2e-app", json={"slug": "other"}, timeout=10).status_code == 409
    page = s.get(f"{base}/admin/users", params={"limit": 1}, timeout=10).json()
    assert len(page["items"]) == 1
    r = s.put(f"{base}/admin/apps/e2e-app/provisioning", json={"base_url": "http://127.0.0.1:9/scim/v2",
                                                              "token": "e2e-scim-token-xyz", "enabled": False}, timeout=10)
    assert r.status_code == 200 and "e2e-scim-token-xyz" not in r.text
    assert s.delete(f"{base}/admin/users/{user['id']}", timeout=10).status_code == 204
    assert s.get(f"{base}/admin/users/{user['id']}", timeout=10).status_code == 404

    logs = local_stack.logs()
    for secret in ("e2e-Secret-pass-1", "e2e-scim-token-xyz", "PRIVATE KEY"):
        assert secret not in logs
    # The admin token is printed once, in the start-up banner (the contract asks for it), never logged.
    assert logs.count(ADMIN_TOKEN) == 1 and "Admin token" in logs


def test_the_local_mailbox_is_served(local_stack):
    """Contract section 9: `make run` keeps the email it would send, at /_local/mail.json and /_local/mail."""
    answer = requests.get(f"{local_stack.base_url}/_local/mail.json", timeout=10)
    assert answer.status_code == 200 and isinstance(answer.json()["messages"], list)
    page = requests.get(f"{local_stack.base_url}/_local/mail", timeout=10)
    assert page.status_code == 200 and "Local mailbox" in page.text


def test_ctrl_c_stops_the_stack_cleanly(tmp_path):
    # A short outbox period makes the schedule run a few times before Ctrl-C.
    stack = start_stack(tmp_path, extra_env={"LOCAL_OUTBOX_SECONDS": "0.5"})
    assert requests.get(f"{stack.base_url}/healthz", timeout=5).status_code == 200
    import time

    time.sleep(2)
    assert stop_stack(stack) == 0
    assert "stopped" in stack.logs()
    assert "Traceback" not in stack.logs() and " ERROR " not in stack.logs()
    try:
        requests.get(f"{stack.base_url}/healthz", timeout=2)
        raise AssertionError("the API still answers after Ctrl-C")
    except requests.ConnectionError:
        pass
