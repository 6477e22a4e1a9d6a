"""Every event type and reason code of the audit log, recorded by the real routes (API Gateway v2 events
into the SAML and admin resolvers on moto) and read back through GET /admin/events; and no secret value
in any event."""
from __future__ import annotations

import json

import pytest

from idp_testing.lambda_client import LambdaClient, events, form_login, load, one
from idp_testing.lambda_events import LambdaContext, http_event
from idp_testing.saml_browser import parse_inputs
from idp_testing.saml_sp import sp_post_login


def test_password_step_sso_and_logout_are_recorded_with_client_and_reason(env):
    uid = env.user["id"]
    c = LambdaClient(env.resolver)
    page = c.request("GET", "/saml2/officespace")  # IdP-initiated: to the login page
    assert form_login(c, page, password="wrong").status == 401
    assert form_login(c, c.request("GET", "/login"), username="nobody").status == 401
    done = form_login(c, c.request("GET", "/saml2/officespace"))
    assert done.status == 200 and "SAMLResponse" in done.text
    portal = c.request("GET", "/")
    assert c.request("POST", "/logout", form={"csrf": parse_inputs(portal.text)["csrf"]}).status == 200

    mine = events(user_id=uid)
    wrong = one(mine, type="login", outcome="failure")
    assert wrong["reason"] == "wrong_password" and wrong["ip"] == "198.51.100.7" and wrong["user_agent"] == "pytest"
    assert wrong["actor"] == {"type": "user", "id": uid}
    assert one(events(type="login", outcome="failure"), reason="unknown_user").get("user_id") is None
    assert one(mine, type="login", outcome="success")["app"] == "officespace"
    sso = one(mine, type="sso", outcome="success")
    assert sso["app"] == "officespace" and sso["detail"]["acs"] == "https://acme.officespacesoftware.com/users/sign_in/saml"
    assert sso["detail"]["sp_initiated"] is False
    assert one(mine, type="logout")["outcome"] == "success"
    assert [e["type"] for e in mine][:1] == ["logout"]  # newest first


def test_sso_refusals_carry_their_reason_codes(env):
    uid = env.user["id"]
    c = LambdaClient(env.resolver)
    assert c.request("GET", "/saml2/nope").status == 404
    assert one(events(type="sso", app="nope"), outcome="failure")["reason"] == "unknown_sp"

    _req_id, b64 = sp_post_login(env.sp, sp_keypair=env.kp)
    assert c.request("POST", "/saml2/officespace", form={"SAMLRequest": b64}).path == "/login"
    assert c.request("POST", "/saml2/officespace", form={"SAMLRequest": b64}).status == 400
    _req_id, unsigned = sp_post_login(env.sp)
    assert c.request("POST", "/saml2/officespace", form={"SAMLRequest": unsigned}).status in (400, 403)
    reasons = {e.get("reason") for e in events(type="sso", app="officespace", outcome="failure")}
    assert {"replayed", "signature_required"} <= reasons or {"replayed", "bad_signature"} <= reasons

    env.directory.bind_user("officespace", uid, bind=False)
    assert form_login(c, c.request("GET", "/saml2/officespace")).status == 403
    refused = one(events(type="sso", user_id=uid), outcome="failure")
    assert refused["reason"] == "not_bound" and refused["app"] == "officespace"

    env.directory.bind_user("officespace", uid, bind=True)
    c = LambdaClient(env.resolver)  # no session yet: the request waits for the login
    _req_id, b64 = sp_post_login(env.sp, sp_keypair=env.kp)
    page = c.request("POST", "/saml2/officespace", form={"SAMLRequest": b64})
    env.apps.update("officespace", {"acs_urls": ["https://acme.officespacesoftware.com/other"]})
    assert form_login(c, page).status == 400
    moved = one(events(type="sso", user_id=uid, outcome="failure"), reason="acs_not_registered")
    assert moved["detail"]["sp_initiated"] is True


def test_suspended_and_locked_out_sign_ins(env, monkeypatch):
    monkeypatch.setenv("IDP_LOGIN_USER_MAX_FAILURES", "2")
    from idp import bootstrap

    bootstrap.reset()
    uid = env.user["id"]
    c = LambdaClient(env.resolver)
    for _ in range(3):
        form_login(c, c.request("GET", "/login"), password="wrong")
    assert form_login(c, c.request("GET", "/login")).status == 429
    mine = events(user_id=uid)
    assert one(mine, type="lockout")["outcome"] == "failure"
    assert one(mine, type="login", reason="locked_out")["outcome"] == "failure"

    bootstrap.container().signon_state.clear_failures("source", f"{uid}#ip:198.51.100.7")
    bootstrap.container().directory.update_user(uid, {"state": "SUSPENDED"})
    other = LambdaClient(env.resolver, ip="198.51.100.99")
    assert form_login(other, other.request("GET", "/login")).status == 403
    assert one(events(user_id=uid, type="login"), reason="suspended")["ip"] == "198.51.100.99"


def test_admin_changes_name_fields_and_no_secret_value_appears_anywhere(aws_env):
    handler = load("admin_api")

    def call(method, path, body=None):
        answer = handler(http_event(method, path, body, headers={"user-agent": "admin-cli/1.0"}), LambdaContext())
        assert answer["statusCode"] < 300, (method, path, answer["body"])
        return json.loads(answer["body"]) if answer.get("body") else None

    secret_password, new_password, scim_token = "S3cret-Passw0rd-One", "An0ther-Secret-Two", "scim-token-do-not-log-77"
    user = call("POST", "/admin/users", {"username": "bo", "email": "bo@example.com", "firstname": "Bo", "lastname": "K",
                                         "password": secret_password})
    call("PATCH", f"/admin/users/{user['id']}", {"password": new_password, "title": "Engineer"})
    group = call("POST", "/admin/groups", {"name": "Eng"})
    call("PUT", f"/admin/groups/{group['id']}/members/{user['id']}")
    app = call("POST", "/admin/apps", {"slug": "os", "label": "OS", "sp_entity_id": "acme.officespacesoftware.com",
                                       "acs_urls": ["https://acme.officespacesoftware.com/users/sign_in/saml"]})
    call("PUT", f"/admin/apps/os/groups/{group['id']}")
    call("PUT", "/admin/apps/os/provisioning", {"base_url": "https://acme.officespacesoftware.com/api/scim/v2",
                                                "token": scim_token, "enabled": False, "group_management": False})
    nxt = [k for k in call("POST", "/admin/apps/os/keys")["signing_keys"] if k["status"] == "next"][0]
    call("POST", f"/admin/apps/os/keys/{nxt['kid']}/activate")
    call("DELETE", f"/admin/apps/os/keys/{app['signing_keys'][0]['kid']}")
    call("POST", f"/admin/users/{user['id']}/sessions/revoke")

    items = events()
    updated = one(items, type="admin.user.updated")
    assert updated["changes"] == ["password", "title"] and updated["actor"] == {"type": "admin"}
    assert updated["user_agent"] == "admin-cli/1.0" and updated["ip"] == "198.51.100.7"
    assert "password" in one(items, type="admin.user.created")["changes"]
    assert one(items, type="admin.app.provisioning_updated")["changes"] == ["base_url", "enabled", "group_management", "token"]
    for kind in ("admin.group.created", "admin.group.member_added", "admin.app.created", "admin.app.group_bound",
                 "admin.key.added", "admin.key.activated", "admin.key.retired", "admin.user.sessions_revoked"):
        one(items, type=kind)
    assert one(items, type="admin.key.activated")["detail"]["kid"] == nxt["kid"]
    assert one(events(app="os"), type="admin.key.retired")["app"] == "os"

    from idp.bootstrap import container

    text = json.dumps(items)
    raw = json.dumps(container().table.scan()["Items"], default=str)
    private_keys = [container().secrets.get(f"apps/os/signing-keys/{nxt['kid']}")]
    for secret in (secret_password, new_password, scim_token, *private_keys):
        assert secret and secret not in text
    audit_items = [i for i in container().table.scan()["Items"] if str(i["pk"]).startswith("AUDIT#")]
    assert audit_items and not any(s in json.dumps(audit_items, default=str)
                                   for s in (secret_password, new_password, scim_token, *private_keys))
    assert "BEGIN PRIVATE KEY" not in raw


def test_each_provisioning_log_entry_is_an_event_pointing_at_it(aws_env):
    from idp.bootstrap import container

    plog = container().provisioning_state.log
    plog.log("os", "USER", "u-1", action="create", outcome="success", sp_status=201)
    plog.log("os", "USER", "u-1", action="update", outcome="failed", sp_status=400, sp_message="bad email")
    failed, ok = events(type="provisioning", app="os")
    assert failed["outcome"] == "failure" and failed["reason"] == "failed" and failed["detail"]["sp_status"] == 400
    assert ok["outcome"] == "success" and ok["actor"] == {"type": "system"} and ok["user_id"] == "u-1"
    entries = plog.read_log("os", user_id="u-1")
    pk, sk = failed["detail"]["log_key"].split("|")
    assert pk == "PLOG#os#USER#u-1" and any(e["at"] == sk.split("#")[0] and e["outcome"] == "failed" for e in entries)


@pytest.mark.parametrize("query", [{"limit": "0"}, {"until": "soon"}, {"cursor": "abc"}])
def test_bad_queries_are_400s(aws_env, query):
    answer = load("admin_api")(http_event("GET", "/admin/events", query=query), LambdaContext())
    assert answer["statusCode"] == 400 and json.loads(answer["body"])["error"] in ("invalid_query", "invalid_cursor")



def test_an_sp_asking_for_mfa_of_a_user_without_a_factor_is_refused_as_mfa_required(env):
    from idp.bootstrap import container
    from idp_testing.saml_sp import authn_request_xml, redirect_query

    acs = "https://open.example.com/acs"
    container().apps.create({"slug": "open", "label": "Open", "sp_entity_id": "open.example.com", "acs_urls": [acs]})
    container().directory.bind_user("open", env.user["id"], bind=True)
    c = LambdaClient(env.resolver)
    assert form_login(c, c.request("GET", "/login")).path == "/"
    ask_mfa = ('<samlp:RequestedAuthnContext Comparison="exact"><saml:AuthnContextClassRef>https://refeds.org/profile/mfa'
               '</saml:AuthnContextClassRef></samlp:RequestedAuthnContext>')
    xml = authn_request_xml(req_id="_ask_mfa_1", issuer="open.example.com", acs_url=acs,
                            destination="https://idp.example.com/saml2/open", body_extra=ask_mfa)
    page = c.request("GET", "/saml2/open", raw_query=redirect_query(xml))
    assert "SAMLResponse" in page.text  # a NoAuthnContext status: the user has no second factor
    refused = one(events(type="sso", app="open", outcome="failure"), reason="mfa_required")
    assert refused["detail"]["request_id"] == "_ask_mfa_1" and refused["user_id"] == env.user["id"]
