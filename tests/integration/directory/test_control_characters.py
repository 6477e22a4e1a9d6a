"""Directory text refuses control characters (contract section 2, issue 23 item 11): C0 (U+0000-U+001F),
DEL, C1 (U+0080-U+009F) and what XML cannot carry. A user holding one went into every assertion, and
every SSO of that user answered 500 ("All strings must be XML compatible"). Driven through the admin
API's Lambda handler (the container built from settings, as AWS runs it), and through the import of
an SP's users, whose values go through the same rule (refused per record, not a crash)."""
from __future__ import annotations

import json

import pytest

from idp_testing.lambda_client import load
from idp_testing.lambda_events import LambdaContext, http_event
from idp_testing.scim_server import ScimServer

CONTROLS = ["\x00", "\x01", "\t", "\n", "\x1f", "\x7f", "\x85", "\x9f", "\ud800", "\uffff"]
USER = {"username": "ada", "email": "ada@example.com", "firstname": "Ada", "lastname": "Lovelace"}
APP = {"slug": "os", "label": "OS", "sp_entity_id": "acme.officespacesoftware.com",
       "acs_urls": ["https://acme.officespacesoftware.com/users/sign_in/saml"]}


@pytest.fixture
def api(aws_env):
    handler = load("admin_api")

    def call(method, path, body=None):
        # json.dumps escapes every control character (\u0085): the body is valid JSON that carries one.
        answer = handler(http_event(method, path, body), LambdaContext())
        return answer["statusCode"], json.loads(answer["body"]) if answer.get("body") else None

    return call


def _refused(answer, field: str, char: str):
    status, body = answer
    assert status == 400, (status, body)
    assert body["error"] == "invalid_field" and f"field '{field}'" in body["message"], body
    assert f"U+{ord(char):04X}" in body["message"] and char not in body["message"], body


@pytest.mark.parametrize("char", CONTROLS, ids=lambda c: f"U+{ord(c):04X}")
def test_user_fields_refuse_control_characters(api, char):
    for field in ("firstname", "lastname", "displayname", "title", "department", "employee_id", "phone", "location", "email"):
        _refused(api("POST", "/admin/users", {**USER, field: f"Ad{char}a@x.example"}), field, char)
    status, user = api("POST", "/admin/users", USER)
    assert status == 201, user
    for field in ("firstname", "title", "username"):
        _refused(api("PATCH", f"/admin/users/{user['id']}", {field: f"Ad{char}a"}), field, char)
    status, now = api("GET", f"/admin/users/{user['id']}")
    assert {k: now[k] for k in USER} == USER and "title" not in now


@pytest.mark.parametrize("char", ["\x01", "\x85", "\x7f"], ids=lambda c: f"U+{ord(c):04X}")
def test_group_and_app_fields_refuse_control_characters(api, char):
    _refused(api("POST", "/admin/groups", {"name": f"Eng{char}"}), "name", char)
    _refused(api("POST", "/admin/groups", {"name": "Eng", "description": f"the{char}builders"}), "description", char)
    status, group = api("POST", "/admin/groups", {"name": "Eng"})
    assert status == 201
    _refused(api("PATCH", f"/admin/groups/{group['id']}", {"description": f"a{char}"}), "description", char)
    _refused(api("POST", "/admin/apps", {**APP, "label": f"O{char}S"}), "label", char)
    _refused(api("POST", "/admin/apps", {**APP, "acs_urls": [APP["acs_urls"][0], f"https://b.example/a{char}"]}), "acs_urls.1", char)
    _refused(api("POST", "/admin/apps", {**APP, "attributes": {"email": "email", "name": f"first{char}name"}}),
             "attributes.name", char)
    status, body = api("POST", "/admin/apps", {**APP, "attributes": {f"na{char}me": "email"}})
    assert status == 400 and "'attributes'" in body["message"] and f"U+{ord(char):04X}" in body["message"]
    assert api("POST", "/admin/apps", APP)[0] == 201
    _refused(api("PATCH", "/admin/apps/os", {"default_relay_state": f"/floor{char}"}), "default_relay_state", char)
    _refused(api("PUT", "/admin/apps/os/provisioning", {"base_url": "https://scim.example/v2", "token": f"t{char}k"}),
             "token", char)


def test_a_pem_keeps_its_line_breaks_and_a_password_is_not_text(api):
    """An SP certificate is lines (tab, CR and LF are its whitespace; other controls are refused); a password is a
    secret that never leaves its hash, and may hold any character."""
    assert api("POST", "/admin/apps", APP)[0] == 201
    status, body = api("PATCH", "/admin/apps/os", {"sp_certificate": "-----BEGIN CERTIFICATE-----\r\n\tAAAA\x01\n"})
    assert status == 400 and "field 'sp_certificate'" in body["message"] and "U+0001" in body["message"]
    status, user = api("POST", "/admin/users", {**USER, "password": "correct\thorse\x85battery-9"})
    assert status == 201, user


USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"


@pytest.fixture
def scim():
    server = ScimServer(token="sp-token")
    yield server
    server.close()


def test_the_import_of_sp_users_refuses_them_per_record(api, scim):
    """An SP-only user whose name holds a control character is reported (error naming the field) and not
    created; the others of the same confirmation are."""
    assert api("POST", "/admin/apps", APP)[0] == 201
    bad = scim.create("Users", {"schemas": [USER_SCHEMA], "userName": "zed@example.com",
                                "name": {"givenName": "Ze\x85d", "familyName": "Null"},
                                "emails": [{"value": "zed@example.com", "type": "work", "primary": True}], "active": True})
    good = scim.create("Users", {"schemas": [USER_SCHEMA], "userName": "yan@example.com",
                                 "name": {"givenName": "Yan", "familyName": "Null"},
                                 "emails": [{"value": "yan@example.com", "type": "work", "primary": True}], "active": True})
    status, _ = api("PUT", "/admin/apps/os/provisioning", {"base_url": scim.base_url, "token": "sp-token", "enabled": True})
    assert status == 200
    status, report = api("POST", "/admin/apps/os/provisioning/import", {})
    assert status == 200, report
    status, done = api("POST", f"/admin/apps/os/provisioning/import/{report['id']}/confirm",
                       {"create_users": [bad["id"], good["id"]]})
    assert status == 200, done
    created = {row["sp_id"]: row for row in done["created"]}
    assert created[bad["id"]]["error"] == "invalid_field" and "field 'firstname'" in created[bad["id"]]["message"]
    assert "U+0085" in created[bad["id"]]["message"] and "user_id" not in created[bad["id"]]
    assert created[good["id"]]["user_id"]
    status, page = api("GET", "/admin/users")
    assert sorted(u["username"] for u in page["items"]) == ["yan@example.com"]
