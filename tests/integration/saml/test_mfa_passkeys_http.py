"""Passkeys over HTTP through the Lambda resolver on moto, with a software authenticator: registration on
/account, passwordless sign-in and passkey as the second step (each ending with python3-saml reading the
REFEDS MFA context), single-use challenges, a cloned authenticator refused, and a passkey of another
user refused at someone else's second step."""

from __future__ import annotations

import json

from idp import bootstrap
from idp_testing.lambda_client import LambdaClient
from idp_testing.mfa_http import MFA, ORIGIN, context_of, no_response, passkey_step, password_step, register, set_policy, signed_in, sso
from idp_testing.saml_browser import parse_inputs
from idp_testing.soft_authenticator import SoftAuthenticator


def test_register_then_passwordless_and_as_second_factor(world):
    set_policy(world, policy="optional")
    auth = SoftAuthenticator(ORIGIN)
    c = signed_in(world)
    added = register(c, auth)
    assert added.status == 200 and "Passkey added." in added.text and added.text.count("<li><code>") == 10
    (factor,) = world.admin("GET", f"/admin/users/{world.user['id']}/mfa")[1]["factors"]
    assert factor["type"] == "webauthn" and factor["name"] == "Laptop"

    b = LambdaClient(world.resolver)  # passwordless: no username, no password
    req_id, page = sso(b)
    assert "Sign in with a passkey" in page.text
    assert context_of(world, passkey_step(b, page, auth), req_id) == MFA
    from idp.bootstrap import container
    from idp.kernel.audit_log import AuditQuery

    (login,) = container().audit.query(AuditQuery(type="login", user_id=world.user["id"], outcome="success"), limit=10)[0][:1]
    assert login["detail"].get("method") == "webauthn" and login["app"] == "open"  # the passkey sign-in is a login event

    d = LambdaClient(world.resolver)  # a password, then the passkey as the second step
    req_id, page = sso(d)
    second = password_step(d, page)
    assert "Use a passkey" in second.text and no_response(second)
    assert context_of(world, passkey_step(d, second, auth), req_id) == MFA


def test_a_cloned_authenticator_and_a_replayed_answer_are_refused(world):
    set_policy(world, policy="optional")
    auth = SoftAuthenticator(ORIGIN)
    register(signed_in(world), auth)
    b = LambdaClient(world.resolver)
    req_id, page = sso(b)
    assert context_of(world, passkey_step(b, page, auth), req_id) == MFA  # counter 1

    e = LambdaClient(world.resolver)
    _, page = sso(e)
    clone = passkey_step(e, page, auth, sign_count=1)  # the same counter again: a copy of the key
    assert clone.status == 401 and "cloned" in clone.text and no_response(clone)

    f = LambdaClient(world.resolver)
    _, page = sso(f)
    form = parse_inputs(page.text.split('data-webauthn="authenticate"', 1)[1])
    options = f.request("POST", "/login/passkey/options", form={"login": form["login"], "csrf": form["csrf"]})
    answer = auth.get(options.text)
    assert f.request("POST", "/login/passkey", form={**form, "credential": answer}).status == 200
    _, page = sso(LambdaClient(world.resolver))
    replay = f.request("POST", "/login/passkey", form={**form, "credential": answer})
    assert replay.status in (401, 403) and no_response(replay)  # the challenge (and the login) are used up


def test_a_passkey_of_another_user_cannot_answer_this_users_second_step(world):
    set_policy(world, policy="optional")
    mallory_auth, ada_auth = SoftAuthenticator(ORIGIN), SoftAuthenticator(ORIGIN)
    register(signed_in(world), ada_auth)
    directory = bootstrap.container().directory
    mallory = directory.create_user({"username": "mallory", "email": "mallory@example.com", "firstname": "M",
                                     "lastname": "M", "password": "Mall0ry-Passw0rd!"})
    directory.bind_user("open", mallory["id"], bind=True)
    m = LambdaClient(world.resolver)
    portal = password_step(m, m.request("GET", "/login"), username="mallory", password="Mall0ry-Passw0rd!")
    assert portal.path == "/"
    register(m, mallory_auth)

    b = LambdaClient(world.resolver)
    _, page = sso(b)
    second = password_step(b, page)  # ada's password ...
    form = parse_inputs(second.text.split('data-webauthn="authenticate"', 1)[1])
    options = b.request("POST", "/login/passkey/options", form={"login": form["login"], "csrf": form["csrf"]})
    # ... answered by mallory's passkey (the options list only ada's; a hostile client ignores that)
    opts = json.loads(options.text)
    opts["allowCredentials"] = []
    answer = mallory_auth.get(json.dumps(opts))
    refused = b.request("POST", "/login/passkey", form={**form, "credential": answer})
    assert refused.status == 401 and no_response(refused)


def test_passkey_requests_need_the_forms_tokens(world):
    c = LambdaClient(world.resolver)
    assert c.request("POST", "/login/passkey/options", form={"login": "x", "csrf": "y"}).status == 403
    assert c.request("POST", "/login/passkey", form={"login": "x", "csrf": "y", "credential": "{}"}).status == 403
    s = signed_in(world)
    assert s.request("POST", "/account/passkeys/options", form={"csrf": "forged"}).status == 403
    assert s.request("POST", "/account/passkeys", form={"csrf": "forged", "credential": "{}"}).status == 403
    page = s.request("GET", "/account")
    junk = s.request("POST", "/account/passkeys", form={"csrf": parse_inputs(page.text)["csrf"], "credential": "not json"})
    assert junk.status == 400 and "not added" in junk.text


def test_a_throttled_second_step_refuses_the_passkey_too(world):
    from idp_testing.mfa_http import code_step

    set_policy(world, policy="optional")
    auth = SoftAuthenticator(ORIGIN)
    register(signed_in(world), auth)
    b = LambdaClient(world.resolver)
    _, page = sso(b)
    page = password_step(b, page)
    for _ in range(5):
        page = code_step(b, page, "000000")
    held = passkey_step(b, page, auth)
    assert held.status == 429 and no_response(held)


def test_a_policy_without_webauthn_turns_passkeys_off(world):
    set_policy(world, policy="optional")
    auth = SoftAuthenticator(ORIGIN)
    register(signed_in(world), auth)
    b = LambdaClient(world.resolver)
    _, page = sso(b)
    set_policy(world, policy="optional", methods=["totp"])
    form = parse_inputs(page.text.split('data-webauthn="authenticate"', 1)[1])
    assert b.request("POST", "/login/passkey/options", form={"login": form["login"], "csrf": form["csrf"]}).status == 403
    _, page = sso(LambdaClient(world.resolver))
    assert "Sign in with a passkey" not in page.text
    # a user who holds a (now uncounted) passkey gets no session from a password alone (issue 23 item 5): the
    # login asks for a code (a recovery code) next, and the passkey is not offered
    d = LambdaClient(world.resolver)
    second = password_step(d, d.request("GET", "/login"))
    assert second.path == "/login" and 'name="code"' in second.text and "Use a passkey" not in second.text


def test_rename_and_remove_a_passkey_on_the_account_page(world):
    set_policy(world, policy="optional")
    auth = SoftAuthenticator(ORIGIN)
    c = signed_in(world)
    register(c, auth, name="Laptop")
    register(c, SoftAuthenticator(ORIGIN), name="Phone")  # several passkeys per user, each named
    page = c.request("GET", "/account")  # (adding a passkey renewed the session, and its CSRF token)
    factors = world.admin("GET", f"/admin/users/{world.user['id']}/mfa")[1]["factors"]
    assert sorted(f["name"] for f in factors) == ["Laptop", "Phone"]
    laptop = next(f["id"] for f in factors if f["name"] == "Laptop")
    csrf = parse_inputs(page.text)["csrf"]
    renamed = c.request("POST", f"/account/factors/{laptop}/rename", form={"csrf": csrf, "name": "  Work   laptop "})
    assert renamed.status == 200 and "Work laptop" in renamed.text
    assert c.request("POST", f"/account/factors/{laptop}/rename", form={"csrf": csrf, "name": "   "}).status == 400
    for f in factors:
        assert c.request("POST", f"/account/factors/{f['id']}/remove", form={"csrf": csrf}).status == 200
    assert world.admin("GET", f"/admin/users/{world.user['id']}/mfa")[1]["factors"] == []
    assert "0 unused recovery codes" in c.request("GET", "/account").text  # the last factor took its codes along
