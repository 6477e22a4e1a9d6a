"""Admin changes are audited with what they changed (contract section 8): `changes` names only the fields
whose value changed, a role grant carries the roles before and after, and PUT /admin/mfa (and the
console's Settings page) records `admin.mfa.updated` with the old and new values. Driven through the
admin API's Lambda handler and the console's routes on moto, read back through GET /admin/events."""
from __future__ import annotations

import json

from idp_testing.console_client import PLAIN
from idp_testing.lambda_client import load
from idp_testing.lambda_events import LambdaContext, http_event

UA = "admin-cli/2.0"
PROFILE = {"username": "dana", "email": "dana@example.com", "firstname": "Dana", "lastname": "Doe",
           "displayname": "Dana Doe", "title": "Engineer", "department": "R&D", "state": "ACTIVE"}


def call(method: str, path: str, body=None) -> dict | None:
    answer = load("admin_api")(http_event(method, path, body, headers={"user-agent": UA}), LambdaContext())
    assert answer["statusCode"] < 300, (method, path, answer["body"])
    return json.loads(answer["body"]) if answer.get("body") else None


def _events(query: dict) -> list[dict]:
    answer = load("admin_api")(http_event("GET", "/admin/events", query={"limit": "500", **query}), LambdaContext())
    assert answer["statusCode"] == 200, answer["body"]
    return json.loads(answer["body"])["items"]


# ---------------------------------------------------------------- item 8: changes name what changed


def test_a_patch_resending_every_field_names_only_the_role_it_grants(aws_env):
    user = call("POST", "/admin/users", PROFILE)
    # What the console's form sends: every field, the same values, and the admin role added.
    call("PATCH", f"/admin/users/{user['id']}", {**PROFILE, "roles": ["admin"]})
    (granted,) = _events({"type": "admin.user.updated", "user_id": user["id"]})
    assert granted["changes"] == ["roles"], granted
    assert granted["detail"]["before"] == {"roles": []} and granted["detail"]["after"] == {"roles": ["admin"]}
    assert granted["actor"] == {"type": "admin"} and granted["user_agent"] == UA and granted["ip"] == "198.51.100.7"

    call("PATCH", f"/admin/users/{user['id']}", {**PROFILE, "title": "Manager", "roles": ["admin"],
                                                 "password": "A-new-Secret-Passw0rd"})
    retitled = _events({"type": "admin.user.updated", "user_id": user["id"]})[0]
    assert retitled["changes"] == ["password", "title"], retitled
    assert retitled["detail"]["before"] == {"title": "Engineer"} and retitled["detail"]["after"] == {"title": "Manager"}
    assert "A-new-Secret-Passw0rd" not in json.dumps(retitled)

    call("PATCH", f"/admin/users/{user['id']}", {"roles": []})
    revoked = _events({"type": "admin.user.updated", "user_id": user["id"]})[0]
    assert revoked["changes"] == ["roles"]
    assert revoked["detail"]["before"] == {"roles": ["admin"]} and revoked["detail"]["after"] == {"roles": []}


def test_saving_a_user_unchanged_names_no_field(aws_env):
    user = call("POST", "/admin/users", PROFILE)
    call("PATCH", f"/admin/users/{user['id']}", {**PROFILE, "phone": None, "roles": []})
    (saved,) = _events({"type": "admin.user.updated", "user_id": user["id"]})
    assert "changes" not in saved and "before" not in saved.get("detail", {}), saved


def test_granting_the_admin_role_in_the_console_is_recorded_as_a_role_change(admin_browser, people):
    from idp.bootstrap import container
    from idp.kernel.audit_log import AuditQuery

    uid, admin_uid = people["plain"]["id"], people["admin"]["id"]
    csrf = admin_browser.get(f"/console/users/{uid}").hidden("csrf")
    form = {name: PLAIN[name] for name in ("username", "email", "firstname", "lastname")}
    assert admin_browser.post(f"/console/users/{uid}", {**form, "admin_role": "on", "csrf": csrf}).status == 303
    assert admin_browser.post(f"/console/users/{uid}", {**form, "title": "Lead", "admin_role": "on", "csrf": csrf}).status == 303
    newest, granted = container().audit.query(AuditQuery(type="admin.user.updated", user_id=uid))[0][:2]
    assert granted["changes"] == ["roles"], granted
    assert granted["detail"]["before"] == {"roles": []} and granted["detail"]["after"] == {"roles": ["admin"]}
    assert granted["actor"] == {"type": "admin", "id": admin_uid}
    assert newest["changes"] == ["title"] and newest["detail"]["after"] == {"title": "Lead"}
    page = admin_browser.get("/console/events?type=admin.*")
    assert page.status == 200 and "roles: (none) → admin" in page.text and "title: (none) → Lead" in page.text


def test_a_group_rename_resending_the_description_names_only_the_name(aws_env):
    group = call("POST", "/admin/groups", {"name": "Eng", "description": "builders"})
    call("PATCH", f"/admin/groups/{group['id']}", {"name": "Engineering", "description": "builders"})
    updated = next(e for e in _events({"type": "admin.group.updated"}) if e["detail"].get("group_id") == group["id"])
    assert updated["changes"] == ["name"], updated


# ---------------------------------------------------------------- item 7: the MFA policy is audited


def test_put_admin_mfa_records_the_actor_and_the_old_and_new_values(aws_env):
    before = call("GET", "/admin/mfa")
    assert before == {"policy": "off", "grace_days": 7, "methods": ["totp", "webauthn"]}
    call("PUT", "/admin/mfa", {"policy": "required", "grace_days": 7, "methods": ["totp"]})
    (event,) = _events({"type": "admin.mfa.updated"})
    assert event["outcome"] == "success" and event["actor"] == {"type": "admin"}
    assert event["ip"] == "198.51.100.7" and event["user_agent"] == UA
    assert event["changes"] == ["methods", "policy"], event
    assert event["detail"]["before"] == {"policy": "off", "methods": ["totp", "webauthn"]}
    assert event["detail"]["after"] == {"policy": "required", "methods": ["totp"]}
    assert [e["type"] for e in _events({"type": "admin.*"})] == ["admin.mfa.updated"]


def test_the_console_settings_page_records_the_policy_change_as_the_administrator(admin_browser, people):
    from idp.bootstrap import container
    from idp.kernel.audit_log import AuditQuery

    csrf = admin_browser.get("/console/settings").hidden("csrf")
    assert admin_browser.post("/console/settings", {"csrf": csrf, "policy": "optional", "grace_days": "3",
                                                     "method_totp": "on", "method_webauthn": "on"}).status == 303
    (event,) = container().audit.query(AuditQuery(type="admin.mfa.updated"))[0]
    assert event["actor"] == {"type": "admin", "id": people["admin"]["id"]}
    assert event["changes"] == ["grace_days", "policy"]
    assert event["detail"]["before"] == {"policy": "off", "grace_days": 7}
    assert event["detail"]["after"] == {"policy": "optional", "grace_days": 3}


def test_an_app_patch_resending_its_fields_names_only_what_changed(aws_env):
    acs = ["https://acme.officespacesoftware.com/users/sign_in/saml"]
    call("POST", "/admin/apps", {"slug": "os", "label": "OS", "sp_entity_id": "acme.officespacesoftware.com", "acs_urls": acs})
    call("PATCH", "/admin/apps/os", {"label": "OS", "acs_urls": acs, "sp_entity_id": "acme.officespacesoftware.com",
                                     "mfa": "required"})
    (updated,) = _events({"type": "admin.app.updated", "app": "os"})
    assert updated["changes"] == ["mfa"], updated
