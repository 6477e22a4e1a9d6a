"""Issue 13 (multi-factor sign-in) over HTTP through the Lambda resolvers on moto: TOTP enrolment on
/account, the login's second step, step-up of a live session, replay, drift, throttling, recovery codes,
the grace period, the per-app override and RequestedAuthnContext, the admin API; each sign-in ends with
python3-saml (strict) reading the Response's AuthnContextClassRef."""

from __future__ import annotations

import json
import re
import time

import pytest

from idp import bootstrap
from idp.saml import constants as C
from idp.signon.mfa import totp
from idp_testing.lambda_client import PASSWORD, LambdaClient
from idp_testing.lambda_events import LambdaContext, http_event
from idp_testing.mfa_http import (
    ASK_MFA,
    MFA,
    PPT,
    SESSION,
    code_step,
    context_of,
    enrol_totp,
    next_code,
    no_response,
    password_step,
    set_policy,
    signed_in,
    sso,
)
from idp_testing.saml_browser import parse_inputs, parse_post_form
from idp_testing.saml_sp import sp_accepts

# ---------------------------------------------------------------------------- tests


def test_enrol_then_the_login_asks_for_the_code_and_the_sp_sees_mfa(world):
    set_policy(world, policy="optional", grace_days=7, methods=["totp", "webauthn"])
    c = signed_in(world)
    secret, codes = enrol_totp(c)
    assert len(codes) == 10 == len(set(codes))

    b = LambdaClient(world.resolver)  # a new browser: password, then the code
    req_id, page = sso(b)
    second = password_step(b, page)
    assert second.status == 200 and 'name="code"' in second.text and no_response(second)
    wrong = code_step(b, second, "123456" if next_code(secret) != "123456" else "654321")
    assert wrong.status == 401 and "not valid" in wrong.text and no_response(wrong)
    answer = code_step(b, wrong, next_code(secret))
    assert context_of(world, answer, req_id) == MFA

    # the same code again (another browser, within its window): a replay
    d = LambdaClient(world.resolver)
    _, page = sso(d)
    replay = code_step(d, password_step(d, page), next_code(secret))
    assert replay.status == 401 and no_response(replay)


def test_drift_of_one_step_either_way_and_no_more(world):
    set_policy(world, policy="optional")
    c = signed_in(world)
    secret, _ = enrol_totp(c)  # used the current step
    for steps, ok in ((3, False), (-2, False), (1, True)):
        b = LambdaClient(world.resolver)
        req_id, page = sso(b)
        r = code_step(b, password_step(b, page), totp.code_at(secret, time.time() + 30 * steps))
        assert (not no_response(r)) is ok, (steps, r.status)
        if ok:
            assert context_of(world, r, req_id) == MFA


def test_wrong_codes_are_throttled_like_passwords(world):
    set_policy(world, policy="optional")
    c = signed_in(world)
    secret, _ = enrol_totp(c)
    b = LambdaClient(world.resolver)
    _, page = sso(b)
    page = password_step(b, page)
    statuses = []
    for _ in range(6):
        page = code_step(b, page, "000000" if next_code(secret) != "000000" else "999999")
        statuses.append(page.status)
    # the enrolment's wrong first code counted too: five failures, then the next try waits
    assert statuses == [401] * 4 + [429] * 2 and int(page.headers["retry-after"]) > 0
    held = code_step(b, page, next_code(secret))  # even the right code waits
    assert held.status == 429 and no_response(held)


def test_recovery_codes_work_once_and_can_be_regenerated(world):
    set_policy(world, policy="required", grace_days=0)
    c = signed_in(world)
    _, codes = enrol_totp(c)
    b = LambdaClient(world.resolver)
    req_id, page = sso(b)
    answer = code_step(b, password_step(b, page), codes[0].upper())
    assert context_of(world, answer, req_id) == MFA
    again = LambdaClient(world.resolver)
    _, page = sso(again)
    refused = code_step(again, password_step(again, page), codes[0])
    assert refused.status == 401 and no_response(refused)

    page = c.request("GET", "/account")
    assert "9 unused recovery codes" in page.text
    fresh = c.request("POST", "/account/recovery", form={"csrf": parse_inputs(page.text)["csrf"]})
    new_codes = re.findall(r"<li><code>([a-z0-9-]{19})</code></li>", fresh.text)
    assert len(new_codes) == 10 and not set(new_codes) & set(codes)
    old = LambdaClient(world.resolver)
    _, page = sso(old)
    assert code_step(old, password_step(old, page), codes[1]).status == 401  # the old ones stopped working


def test_grace_period_then_enrolment_before_any_response(world):
    set_policy(world, policy="required", grace_days=7)  # ada was created just now: in grace
    b = LambdaClient(world.resolver)
    req_id, page = sso(b)
    assert context_of(world, password_step(b, page), req_id) == PPT

    set_policy(world, policy="required", grace_days=0)  # past grace: enrol first
    b = LambdaClient(world.resolver)
    req_id, page = sso(b)
    setup = password_step(b, page)
    assert setup.status == 200 and setup.path == "/account/setup" and no_response(setup)
    assert "requires a second sign-in step" in setup.text
    idp_initiated = b.request("GET", "/saml2/open")  # IdP-initiated with this session: no Response either
    assert no_response(idp_initiated) and idp_initiated.path == "/account/setup"
    csrf = parse_inputs(setup.text)["csrf"]
    resume = re.search(r'name="resume" value="([^"]+)"', setup.text).group(1)
    totp_page = b.request("POST", "/account/totp", form={"csrf": csrf, "resume": resume})
    secret = re.search(r'data-testid="setup-key">([A-Z2-7]+)<', totp_page.text).group(1)
    done = b.request("POST", "/account/totp/confirm", form={**parse_inputs(totp_page.text), "code": totp.code_at(secret, time.time())})
    assert done.status == 200 and "Continue" in done.text and len(re.findall(r"<li><code>", done.text)) == 10
    answer = b.request("POST", "/account/resume", form=parse_inputs(done.text.split('action="/account/resume"', 1)[1]))
    assert context_of(world, answer, req_id) == MFA


def test_an_app_that_requires_mfa_steps_up_a_password_session(world):
    set_policy(world, policy="off")
    b = signed_in(world)  # policy off, no factor: a password alone
    c = signed_in(world)
    req_id, page = sso(b)
    assert context_of(world, page, req_id) == PPT
    assert world.admin("PATCH", "/admin/apps/open", {"mfa": "required"})[1]["mfa"] == "required"
    assert world.admin("GET", "/admin/apps/open")[1]["mfa"] == "required"
    assert world.admin("PATCH", "/admin/apps/open", {"mfa": "sometimes"})[0] == 400
    _, page = sso(b)  # the app requires a factor the user has not got: enrol first, no Response
    assert no_response(page) and page.path.startswith("/account"), (page.status, page.path)
    secret, _ = enrol_totp(c)  # enrolled from another browser; b's session is still a password session
    req_id, page = sso(b)  # the same session now steps up
    assert page.status == 200 and 'name="code"' in page.text and no_response(page)
    answer = code_step(b, page, next_code(secret))
    assert context_of(world, answer, req_id) == MFA
    req_id, page = sso(b)  # the stepped-up session answers at once
    assert context_of(world, page, req_id) == MFA


def test_requested_authn_context_mfa_steps_up_or_is_no_authn_context(world):
    set_policy(world, policy="off")
    b = signed_in(world)  # no factor yet
    req_id, page = sso(b, body_extra=ASK_MFA)
    form = parse_post_form(page.text)
    status = sp_accepts.__globals__["OneLogin_Saml2_Response"](world.sp, form.saml_response)
    assert C.STATUS_NO_AUTHN_CONTEXT in status.document.xpath("//*[local-name()='StatusCode']/@Value")

    b2 = signed_in(world)  # a password session, signed in before the factor was enrolled; the SP asks for MFA
    secret, _ = enrol_totp(b)
    _, page = sso(b2, body_extra=ASK_MFA, is_passive=True)
    form = parse_post_form(page.text)
    doc = sp_accepts.__globals__["OneLogin_Saml2_Response"](world.sp, form.saml_response).document
    assert C.STATUS_NO_AUTHN_CONTEXT in doc.xpath("//*[local-name()='StatusCode']/@Value")  # passive: no step-up page
    req_id, page = sso(b2, body_extra=ASK_MFA)
    assert 'name="code"' in page.text and no_response(page)
    assert context_of(world, code_step(b2, page, next_code(secret)), req_id) == MFA


def test_force_authn_asks_for_every_factor_again(world):
    set_policy(world, policy="required", grace_days=0)
    c = signed_in(world)  # no factor: the account page may enrol one
    secret, _ = enrol_totp(c)  # the session now says pwd + otp
    req_id, page = sso(c)
    assert context_of(world, page, req_id) == MFA
    req_id, page = sso(c, force_authn=True)
    assert 'name="password"' in page.text and no_response(page)
    second = password_step(c, page)
    assert 'name="code"' in second.text and no_response(second)
    assert context_of(world, code_step(c, second, next_code(secret)), req_id) == MFA


def test_with_policy_required_no_response_without_a_second_factor_in_any_flow(world):
    """SP- and IdP-initiated, a new login, an existing password session (signed in before the policy), ForceAuthn:
    each flow stops before any Response until a second factor is given, and the Response then says MFA."""
    pwd_session, pwd_session_2 = signed_in(world), signed_in(world)  # password-only sessions, before any factor
    c = signed_in(world)
    _, codes = enrol_totp(c)
    set_policy(world, policy="required", grace_days=0)
    fresh = iter(codes)  # one recovery code per flow (TOTP allows one code per 30 s step)

    def new_browser_sp():
        b = LambdaClient(world.resolver)
        return (b, *sso(b))

    def new_browser_idp():
        b = LambdaClient(world.resolver)
        return b, None, b.request("GET", "/saml2/open")

    flows = {
        "sp-initiated, new browser": new_browser_sp,
        "idp-initiated, new browser": new_browser_idp,
        "sp-initiated, password session": lambda: (pwd_session, *sso(pwd_session)),
        "idp-initiated, password session": lambda: (pwd_session_2, None, pwd_session_2.request("GET", "/saml2/open")),
        "force authn, mfa session": lambda: (c, *sso(c, force_authn=True)),
    }
    for name, start in flows.items():
        client, req_id, page = start()
        seen_code_form = False
        for _ in range(3):
            assert no_response(page), name  # nothing reaches the SP before the factor
            if 'name="password"' in page.text:
                page = password_step(client, page)
            elif 'name="code"' in page.text:
                seen_code_form = True
                page = code_step(client, page, next(fresh))
                break
        assert seen_code_form and context_of(world, page, req_id) == MFA, name
    # and the MFA session answers at once afterwards (no second step again)
    req_id, page = sso(pwd_session)
    assert context_of(world, page, req_id) == MFA


def test_admin_api_policy_factors_and_reset(world):
    from idp.web.audit_routes import router as audit_router
    from idp.web.resolver import lambda_app

    assert world.admin("GET", "/admin/mfa") == (200, {"policy": "off", "grace_days": 7, "methods": ["totp", "webauthn"]})
    for body, field in (({"policy": "always"}, "policy"), ({"grace_days": 400}, "grace_days"), ({"methods": ["sms"]}, "methods"),
                        ({"policy": "optional", "since": 1}, "since")):
        status, err = world.admin("PUT", "/admin/mfa", body)
        assert status == 400 and field in err["message"], (body, err)
    assert set_policy(world, policy="optional", grace_days=3, methods=["totp"]) == {"policy": "optional", "grace_days": 3, "methods": ["totp"]}
    assert world.admin("GET", "/admin/mfa")[1]["grace_days"] == 3

    uid = world.user["id"]
    assert world.admin("GET", f"/admin/users/{uid}/mfa") == (200, {"factors": []})
    c = signed_in(world)
    secret, codes = enrol_totp(c)
    status, body = world.admin("GET", f"/admin/users/{uid}/mfa")
    (factor,) = body["factors"]
    assert status == 200 and set(factor) == {"id", "type", "name", "created_at", "last_used_at"} and factor["type"] == "totp"
    assert secret not in json.dumps(body)
    assert world.admin("GET", "/admin/users/nobody/mfa")[0] == 404

    # the seed is sealed in the table: no item holds it in plain text
    items = bootstrap.container().table.scan()["Items"]
    assert not any(secret in json.dumps(i, default=str) for i in items)
    assert not any(code in json.dumps(i, default=str) for i in items for code in codes)

    assert world.admin("DELETE", f"/admin/users/{uid}/mfa") == (204, None)
    assert world.admin("GET", f"/admin/users/{uid}/mfa") == (200, {"factors": []})
    assert c.request("GET", "/", follow=False).status == 302  # the reset ended the user's sessions
    b = LambdaClient(world.resolver)  # and the next login asks for nothing more (optional, no factor)
    req_id, page = sso(b)
    assert context_of(world, password_step(b, page), req_id) == PPT

    audit = lambda_app(audit_router)
    out = audit.resolve(http_event("GET", "/admin/events", query={"type": "mfa", "user_id": uid}), LambdaContext())
    events = json.loads(out["body"])["items"]
    assert out["statusCode"] == 200 and events, out
    text = json.dumps(events)
    assert secret not in text and not any(code in text for code in codes)
    assert {"success", "failure"} <= {e["outcome"] for e in events}  # the wrong first code, the enrolment, the reset


def test_account_posts_need_the_csrf_token_and_a_password_alone_gives_no_session(world):
    set_policy(world, policy="optional")
    c = signed_in(world)
    secret, _ = enrol_totp(c)
    assert c.request("POST", "/account/totp", form={"csrf": "forged"}).status == 403
    stolen = LambdaClient(world.resolver)
    page = password_step(stolen, stolen.request("GET", "/login"))
    assert SESSION not in stolen.jar and 'name="code"' in page.text
    assert stolen.request("GET", "/account", follow=False).status == 302  # no session, no account page
    answer = code_step(stolen, page, next_code(secret))
    assert answer.path == "/" and SESSION in stolen.jar


def test_password_change_needs_the_current_password_and_ends_other_sessions(world):
    from idp.web.account_password_routes import router as account_password_router
    from idp.web.metadata_routes import metadata_router
    from idp.web.resolver import lambda_app
    from idp.web.saml_routes import login_router

    world.resolver = lambda_app(metadata_router, login_router, account_password_router)  # as the local stack mounts them
    other, mine = signed_in(world), signed_in(world)
    csrf = parse_inputs(mine.request("GET", "/account").text)["csrf"]
    new = "A-new-Passw0rd-2026"
    assert mine.request("POST", "/account/password", form={"current_password": PASSWORD, "new_password": new}).status == 403
    wrong = mine.request("POST", "/account/password", form={"csrf": csrf, "current_password": "nope", "new_password": new})
    assert wrong.status == 401 and "current password" in wrong.text
    weak = mine.request("POST", "/account/password", form={"csrf": csrf, "current_password": PASSWORD, "new_password": "x"})
    assert weak.status == 400
    done = mine.request("POST", "/account/password", form={"csrf": csrf, "current_password": PASSWORD, "new_password": new})
    assert done.status == 200 and "Password changed" in done.text
    assert mine.request("GET", "/", follow=False).status == 200  # this browser carries on (a fresh session)
    assert other.request("GET", "/", follow=False).status == 302  # every other session ended
    c = LambdaClient(world.resolver)
    assert password_step(c, c.request("GET", "/login")).status == 401  # the old password no longer works
    assert password_step(c, c.request("GET", "/login"), password=new).path == "/"


def test_a_revocation_during_the_second_step_voids_it(world):
    """Sessions revoked (a lost laptop) while a sign-in waits for its code: the code no longer starts a session."""
    set_policy(world, policy="optional")
    secret, _ = enrol_totp(signed_in(world))
    b = LambdaClient(world.resolver)
    _, page = sso(b)
    second = password_step(b, page)
    assert world.admin("POST", f"/admin/users/{world.user['id']}/sessions/revoke") == (204, None)
    refused = code_step(b, second, next_code(secret))
    assert refused.status == 403 and no_response(refused) and SESSION not in b.jar


@pytest.mark.parametrize("fid", ["x" * 2000, "totp-../../", "", "pk-0123456789abcdef"])
def test_junk_factor_ids_on_the_account_page_are_4xx_never_5xx(world, fid):
    c = signed_in(world)
    csrf = parse_inputs(c.request("GET", "/account").text)["csrf"]
    for action, form in (("rename", {"csrf": csrf, "name": "n"}), ("remove", {"csrf": csrf})):
        r = c.request("POST", f"/account/factors/{fid}/{action}", form=form)
        assert 400 <= r.status < 500, (action, fid[:20], r.status)
    r = c.request("POST", "/account/totp/confirm", form={"csrf": csrf, "factor": fid, "code": "123456"})
    assert 400 <= r.status < 500


def test_the_console_asks_for_mfa_when_the_policy_does(world):
    """Contract section 6: the console needs a session "with MFA when the policy asks"; and (issue 23, item 6)
    an administrator's console session passes a second factor whatever the policy."""
    from idp.web.console import console_router
    from idp.web.metadata_routes import metadata_router
    from idp.web.resolver import lambda_app
    from idp.web.saml_routes import login_router

    world.resolver = lambda_app(metadata_router, login_router, console_router)
    bootstrap.container().directory.update_user(world.user["id"], {"roles": ["admin"]})
    c = signed_in(world)  # policy off: a password session, which the console does not take either
    assert c.request("GET", "/console").path == "/account/setup"
    set_policy(world, policy="required", grace_days=0)
    enrol = c.request("GET", "/console")  # no factor yet: enrol first, then back to the console
    assert enrol.path == "/account/setup" and "requires a second sign-in step" in enrol.text
    secret, _ = enrol_totp(c)
    assert c.request("GET", "/console", follow=False).status == 200  # the enrolment proved the factor
    d = LambdaClient(world.resolver)
    page = password_step(d, d.request("GET", "/console"))  # a new browser: password, then the code, then the console
    assert 'name="code"' in page.text
    assert code_step(d, page, next_code(secret)).path.startswith("/console")


def test_policy_off_an_enrolled_factor_is_still_asked_for(world):
    """Contract section 7: after the password, the second step comes when a factor is required *or enrolled*."""
    set_policy(world, policy="off")
    c = signed_in(world)
    secret, _ = enrol_totp(c)
    b = LambdaClient(world.resolver)
    req_id, page = sso(b)
    second = password_step(b, page)
    assert 'name="code"' in second.text and no_response(second)
    assert context_of(world, code_step(b, second, next_code(secret)), req_id) == MFA


def test_without_the_seed_key_totp_enrolment_says_so_and_a_get_of_the_policy_creates_it(world, monkeypatch):
    from idp.adapters.mfa_keys import SealKeyUnavailable
    from idp.bootstrap import container

    c = signed_in(world)
    sealer = container().mfa.sealer
    real = type(sealer)._key

    def missing(self):
        raise SealKeyUnavailable("the MFA seed key does not exist yet")

    monkeypatch.setattr(type(sealer), "_key", missing)
    page = c.request("GET", "/account")
    r = c.request("POST", "/account/totp", form={"csrf": parse_inputs(page.text)["csrf"]})
    assert r.status == 503 and "not ready yet" in r.text and "setup-key" not in r.text
    monkeypatch.setattr(type(sealer), "_key", real)
    assert world.admin("GET", "/admin/mfa")[0] == 200
    secret, _ = enrol_totp(c)
    assert secret


def test_a_policy_without_totp_refuses_authenticator_app_enrolment(world):
    """With `methods` of passkeys only, setting up (or confirming) an authenticator app is refused, not just hidden."""
    from idp.bootstrap import container

    c = signed_in(world)
    page = c.request("GET", "/account")
    csrf = parse_inputs(page.text)["csrf"]
    setup = c.request("POST", "/account/totp", form={"csrf": csrf})  # begun while the policy allowed it
    fields = parse_inputs(setup.text)
    secret = re.search(r'data-testid="setup-key">([A-Z2-7]+)<', setup.text).group(1)
    set_policy(world, policy="optional", grace_days=7, methods=["webauthn"])
    r = c.request("POST", "/account/totp", form={"csrf": csrf})
    assert r.status == 403 and "does not allow authenticator apps" in r.text and "setup-key" not in r.text
    done = c.request("POST", "/account/totp/confirm", form={**fields, "code": totp.code_at(secret, time.time())})
    assert done.status == 403 and "Authenticator app added" not in done.text
    assert container().mfa.factors(world.user["id"]) == []


def test_adding_and_removing_a_factor_emails_the_user_through_ses(world, monkeypatch):
    """Issue 23 item 3 / issue 26 item 5: a sign-in method added on /account, and an administrator's reset, each
    email the user (SES, as the Lambda container sends it: from MAIL_SENDER, a verified identity), with the
    configured public base URL and never the secret or a code."""
    import boto3
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    boto3.client("sesv2", region_name="us-east-1").create_email_identity(EmailIdentity="idp@mail.example.com")
    monkeypatch.setenv("MAIL_SENDER", "idp@mail.example.com")
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://idp.example.com")
    settings = bootstrap.Settings.load()
    bootstrap.use(bootstrap.Container(settings))
    set_policy(world, policy="optional")
    c = signed_in(world)
    secret, codes = enrol_totp(c)
    sent = ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages
    (added,) = sent
    assert added.destinations["ToAddresses"] == [world.user["email"]]
    assert added.subject == "A sign-in method was added to your OfficeSpace IdP account"
    assert "An authenticator app was added" in added.body and "https://idp.example.com/account" in added.body
    assert secret not in added.body and not any(code in added.body for code in codes)
    assert world.admin("DELETE", f"/admin/users/{world.user['id']}/mfa") == (204, None)
    assert len(sent) == 2 and "removed" in sent[1].subject and "Every sign-in method" in sent[1].body
