"""The import / match report against scim2-server on loopback, through the admin API's handler: an SP
seeded with matched, conflicting and SP-only users; nothing written to the SP before the confirmation
(the import gate holds pushes back); the confirmed links used by the next push without a duplicate."""
from __future__ import annotations

import json

import pytest

from idp_testing.scim_server import ScimServer

WRITES = ("POST", "PUT", "PATCH", "DELETE")
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"


@pytest.fixture
def scim():
    server = ScimServer(token="sp-token")
    yield server
    server.close()


@pytest.fixture
def api(admin_handler):
    return admin_handler


def sp_user(scim, username, given, family, **extra):
    return scim.create("Users", {"schemas": [USER_SCHEMA], "userName": username, "name": {"givenName": given, "familyName": family},
                                 "emails": [{"value": username, "type": "work", "primary": True}], "active": True, **extra})


def test_import_report_confirm_and_the_next_push(api, scim):
    people = {}
    for name in ("ann", "bob", "carol", "dave", "erin"):
        people[name] = api("POST", "/admin/users", {"username": name, "email": f"{name}@example.com",
                                                    "firstname": name.title(), "lastname": "Lee"}, 201)["id"]
    api("POST", "/admin/apps", {"slug": "os", "label": "OS", "sp_entity_id": "acme.officespacesoftware.com",
                                "acs_urls": ["https://acme.officespacesoftware.com/users/sign_in/saml"]}, 201)
    for name in ("ann", "bob", "carol", "dave"):
        api("PUT", f"/admin/apps/os/users/{people[name]}", status=204)
    ann = sp_user(scim, "ann@example.com", "Annie", "Lee")  # matched: the name differs, the push will fix it
    bob = sp_user(scim, "bob@example.com", "Bob", "Lee", externalId="hr-4711")  # conflict: another externalId
    carol = sp_user(scim, "carol@example.com", "Carol", "Lee")
    erin = sp_user(scim, "erin@example.com", "Erin", "Lee")  # matched, though not bound to the app
    zed = sp_user(scim, "zed@example.com", "Zed", "Null")  # only in the SP
    api("PUT", "/admin/apps/os/provisioning", {"base_url": scim.base_url, "token": "sp-token", "enabled": True,
                                               "group_management": False, "require_import_confirmation": True}, 200)
    from idp.bootstrap import container

    # carol's directory user is linked to an SP user that is not this one (re-created by hand, say)
    container().provisioning_state.mappings.save_pushed("os", "USER", people["carol"], scim_id="sp-old-carol", status="synced")
    scim.reset_counts()

    held = api("POST", f"/admin/apps/os/provisioning/users/{people['dave']}/sync", status=200)
    assert held["outcome"] == "skipped"  # the SP holds users and no import was confirmed: nothing pushed
    assert "waiting for the import to be confirmed" in json.dumps(held)  # and it says so (not "provisioning is off")
    report = api("POST", "/admin/apps/os/provisioning/import", {}, 200)
    assert not [r for r in scim.requests if r[0] in WRITES], scim.requests

    rows = {row["sp_id"]: row for row in report["items"]}
    assert rows[ann["id"]] == {"sp_id": ann["id"], "userName": "ann@example.com", "status": "matched",
                               "user_id": people["ann"], "reason": "will update: displayName, name.givenName"}
    assert rows[bob["id"]]["status"] == "conflict" and rows[bob["id"]]["reason"] == "attribute_mismatch: externalId"
    assert rows[carol["id"]]["status"] == "conflict" and rows[carol["id"]]["reason"] == "user_linked_elsewhere"
    assert rows[carol["id"]]["user_id"] == people["carol"]
    assert rows[erin["id"]]["status"] == "matched" and rows[erin["id"]]["user_id"] == people["erin"]
    assert rows[zed["id"]] == {"sp_id": zed["id"], "userName": "zed@example.com", "status": "unmatched"}
    assert report["to_create"] == [people["dave"]] and report["truncated"] is False

    api("POST", f"/admin/apps/os/provisioning/import/{report['id']}/confirm",
        {"links": [{"sp_id": ann["id"], "user_id": "u-nobody"}]}, 400)
    api("POST", f"/admin/apps/os/provisioning/import/{report['id']}/confirm", {"create_users": [ann["id"]]}, 400)
    done = api("POST", f"/admin/apps/os/provisioning/import/{report['id']}/confirm",
               {"links": [{"sp_id": ann["id"], "user_id": people["ann"]}, {"sp_id": bob["id"], "user_id": people["bob"]}],
                "create_users": [zed["id"]]}, 200)
    assert [c["sp_id"] for c in done["created"]] == [zed["id"]] and done["created"][0]["user_id"].startswith("u-")
    assert not [r for r in scim.requests if r[0] in WRITES]
    again = api("POST", f"/admin/apps/os/provisioning/import/{report['id']}/confirm", {}, 409)
    assert again["error"] == "already_confirmed"
    zed_user = api("GET", f"/admin/users/{done['created'][0]['user_id']}", status=200)
    assert zed_user["email"] == "zed@example.com" and zed_user["firstname"] == "Zed"
    assert api("GET", f"/admin/apps/os/users/{zed_user['id']}/diagnosis", status=200)["reasons"] == ["not_bound"]

    for name in ("ann", "bob", "dave"):
        assert api("POST", f"/admin/apps/os/provisioning/users/{people[name]}/sync", status=200)["ok"] is True
    users = scim.list("Users")
    assert sorted(u["userName"].lower() for u in users) == sorted(
        ["ann@example.com", "bob@example.com", "carol@example.com", "dave@example.com",
         "erin@example.com", "zed@example.com"])  # dave created; ann and bob updated in place, not duplicated
    assert scim.get("Users", ann["id"])["name"]["givenName"] == "Ann"
    assert scim.get("Users", bob["id"])["externalId"] == people["bob"]
    assert not [r for r in scim.requests if r[0] == "POST" and r[2].get("userName") in ("ann@example.com", "bob@example.com")]
    diagnosis = api("GET", f"/admin/apps/os/users/{people['ann']}/diagnosis", status=200)
    assert diagnosis["provisioning"]["state"] == "synced" and diagnosis["provisioning"]["scim_id"] == ann["id"]
    assert diagnosis["provisioning"]["active"] is True and diagnosis["provisioning"]["last"]["outcome"] == "success"
    from idp.kernel.audit_log import AuditQuery

    (confirmed,), _ = container().audit.query(AuditQuery(type="admin.app.import_confirmed"))
    assert confirmed["app"] == "os" and confirmed["detail"] == {"report_id": report["id"], "linked": 2, "created": 1}


def test_import_needs_provisioning_and_takes_no_fields(api, scim):
    api("POST", "/admin/apps", {"slug": "os", "label": "OS", "sp_entity_id": "acme.officespacesoftware.com",
                                "acs_urls": ["https://acme.officespacesoftware.com/users/sign_in/saml"]}, 201)
    assert api("POST", "/admin/apps/os/provisioning/import", status=409)["error"] == "not_configured"
    api("PUT", "/admin/apps/os/provisioning", {"base_url": scim.base_url, "token": "sp-token", "enabled": True,
                                               "group_management": False}, 200)
    assert api("POST", "/admin/apps/os/provisioning/import", {"dry": True}, 400)["error"] == "unknown_field"
    assert api("POST", "/admin/apps/os/provisioning/import/imp-nope/confirm", {}, 404)["error"] == "not_found"
    empty = api("POST", "/admin/apps/os/provisioning/import", None, 200)
    assert empty["items"] == [] and empty["to_create"] == []


def test_an_sp_that_cannot_be_read_is_a_409_naming_it_not_a_5xx(api, scim):
    api("POST", "/admin/apps", {"slug": "down", "label": "Down", "sp_entity_id": "down.example.com",
                                "acs_urls": ["https://down.example.com/saml"]}, 201)
    api("PUT", "/admin/apps/down/provisioning", {"base_url": scim.base_url, "token": "sp-token", "enabled": True,
                                                 "group_management": False}, 200)
    scim.close()  # the SP goes away: nothing listens there any more
    answer = api("POST", "/admin/apps/down/provisioning/import", {}, 409)
    assert answer["error"] == "sp_unavailable" and "provisioning/test" in answer["message"]
