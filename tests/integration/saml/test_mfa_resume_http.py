"""Issue 23, items 1, 2 and 5, over HTTP through the Lambda resolvers on moto (python3-saml, strict, reads each
Response): only a sign-in that an enrolment paused resumes on the account page, and a ForceAuthn request is never
answered from an older session (whatever page resumes it); the paused sign-in goes through enrolment (TOTP or
passkey, SP- or IdP-initiated, a cancelled setup or a step-up on the way); a factor of a method the policy no
longer counts is still asked for, and the user then enrols one that counts before any Response."""

from __future__ import annotations

import base64
import re
import time
from datetime import datetime
from urllib.parse import parse_qs, urlsplit

from idp import bootstrap
from idp.signon.mfa import totp
from idp_testing.lambda_client import PASSWORD, LambdaClient
from idp_testing.mfa_http import (
    ACS,
    MFA,
    ORIGIN,
    code_step,
    context_of,
    enrol_totp,
    next_code,
    no_response,
    password_step,
    register,
    set_policy,
    signed_in,
    sso,
)
from idp_testing.saml_browser import parse_inputs, parse_post_form
from idp_testing.soft_authenticator import SoftAuthenticator

SESSION = "__Host-idp_session"


def _state_of(redirect) -> str:
    """The login id of a ``302 /login?state=...`` (not followed)."""
    assert redirect.status == 302, (redirect.status, redirect.text[:200])
    return parse_qs(urlsplit(redirect.headers["location"]).query)["state"][0]


def _csrf(c: LambdaClient) -> str:
    """The session's CSRF token (the portal's Sign out form carries it)."""
    page = c.request("GET", "/", follow=False)
    assert page.status == 200, page.status
    return parse_inputs(page.text)["csrf"]


def _authn_instant(page) -> int:
    xml = base64.b64decode(parse_post_form(page.text).saml_response).decode()
    stamp = re.search(r'AuthnInstant="([^"]+)"', xml).group(1)
    return int(datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp())


def _continue(c: LambdaClient, page):
    """The account page's Continue (POST /account/resume with its hidden fields)."""
    assert "Continue" in page.text and 'action="/account/resume"' in page.text, page.text[-1500:]
    return c.request("POST", "/account/resume", form=parse_inputs(page.text.split('action="/account/resume"', 1)[1]))


def _setup_totp(c: LambdaClient, page):
    """On an enrolment page: "Set up authenticator app" (carrying what the page carries), then the right code."""
    fields = parse_inputs(page.text.split('action="/account/totp"', 1)[1].split("</form>", 1)[0])
    setup = c.request("POST", "/account/totp", form=fields)
    secret = re.search(r'data-testid="setup-key">([A-Z2-7]+)<', setup.text).group(1)
    done = c.request("POST", "/account/totp/confirm", form={**parse_inputs(setup.text), "code": totp.code_at(secret, time.time())})
    assert done.status == 200 and "Authenticator app added" in done.text, done.text[:400]
    return done


# ---------------------------------------------------------------------------- item 1: ForceAuthn and resume


def test_force_authn_is_not_answered_through_account_resume(world):
    """The review's steps: a session cookie, a ForceAuthn request (302 /login?state=L), then POST /account/resume with
    the session's CSRF token and L. No Response: the login form asks for the password, and its answer is fresh."""
    set_policy(world, policy="off")
    c = signed_in(world)
    csrf = _csrf(c)
    time.sleep(1.1)  # the session authenticated strictly before the request
    req_id, to_login = sso(c, force_authn=True, follow=False)
    lid = _state_of(to_login)
    answer = c.request("POST", "/account/resume", form={"csrf": csrf, "resume": lid})
    assert no_response(answer), "a ForceAuthn request was answered without a password"
    assert answer.path == "/login" and 'name="password"' in answer.text
    done = password_step(c, answer)
    assert _authn_instant(done) >= int(time.time()) - 5 and context_of(world, done, req_id)


def test_force_authn_with_a_factor_is_not_answered_through_account_resume(world):
    set_policy(world, policy="required", grace_days=0)
    c = signed_in(world)
    secret, _ = enrol_totp(c)  # the session says pwd + otp
    csrf = _csrf(c)
    req_id, to_login = sso(c, force_authn=True, follow=False)
    answer = c.request("POST", "/account/resume", form={"csrf": csrf, "resume": _state_of(to_login)})
    assert no_response(answer) and 'name="password"' in answer.text
    second = password_step(c, answer)
    assert 'name="code"' in second.text and no_response(second)
    assert context_of(world, code_step(c, second, next_code(secret)), req_id) == MFA


def test_a_step_up_state_is_not_resumable_either(world):
    """A pending step-up (the second step of a live session) is not an enrolment pause: resume sends it to its form."""
    set_policy(world, policy="optional")
    c = signed_in(world)  # a password session, then a factor enrolled from another browser
    enrol_totp(signed_in(world))
    csrf = _csrf(c)
    _, step = sso(c, follow=False)
    answer = c.request("POST", "/account/resume", form={"csrf": csrf, "resume": _state_of(step)})
    assert no_response(answer) and 'name="code"' in answer.text


def test_another_users_paused_sign_in_is_not_resumed(world):
    """A sign-in paused for ada's enrolment is bound to her: the session of another user in that browser gets no
    Response for it."""
    set_policy(world, policy="required", grace_days=0)
    parts = bootstrap.container()
    mallory = parts.directory.create_user({"username": "mallory", "email": "mallory@example.com", "firstname": "M",
                                           "lastname": "X", "password": PASSWORD})
    parts.directory.bind_user("open", mallory["id"], bind=True)
    b = LambdaClient(world.resolver)
    req_id, page = sso(b)
    setup = password_step(b, page)  # ada, past her password, must enrol: the sign-in pauses
    lid = re.search(r'name="resume" value="([^"]+)"', setup.text).group(1)
    b.request("POST", "/logout", form={"csrf": parse_inputs(setup.text)["csrf"]})
    other = password_step(b, b.request("GET", "/login"), username="mallory")  # mallory in the same browser
    _setup_totp(b, b.request("GET", "/account"))
    answer = b.request("POST", "/account/resume", form={"csrf": _csrf(b), "resume": lid})
    assert other.status == 200 and no_response(answer), "another user's paused sign-in was answered"


def test_force_authn_that_pauses_for_enrolment_resumes_with_a_fresh_authn_instant(world):
    """The legitimate resume: ForceAuthn, the password, enrolment (required, no factor yet), Continue: the Response
    says MFA and its AuthnInstant is not older than the request."""
    set_policy(world, policy="required", grace_days=0)
    b = LambdaClient(world.resolver)
    asked = int(time.time())
    req_id, page = sso(b, force_authn=True)
    setup = password_step(b, page)
    assert setup.path == "/account/setup" and no_response(setup)
    answer = _continue(b, _setup_totp(b, setup))
    assert context_of(world, answer, req_id) == MFA and _authn_instant(answer) >= asked


# ---------------------------------------------------------------------------- item 2: through enrolment


def _app_requires_mfa(w):
    set_policy(w, policy="optional")
    assert w.admin("PATCH", "/admin/apps/open", {"mfa": "required"})[0] == 200


def test_idp_initiated_step_up_enrolment_continues_to_the_app(world):
    """Policy optional, the app requires MFA, a password-only user opens it IdP-initiated: enrol (the first setup
    cancelled, as people do), confirm the code, Continue: the app gets its Response, with MFA."""
    _app_requires_mfa(world)
    b = LambdaClient(world.resolver)
    setup = password_step(b, b.request("GET", "/saml2/open"))
    assert setup.path == "/account/setup" and no_response(setup)
    fields = parse_inputs(setup.text.split('action="/account/totp"', 1)[1].split("</form>", 1)[0])
    started = b.request("POST", "/account/totp", form=fields)
    cancel = re.search(r'<a href="([^"]+)">Cancel</a>', started.text).group(1).replace("&amp;", "&")
    back = b.request("GET", urlsplit(cancel).path, raw_query=urlsplit(cancel).query)
    answer = _continue(b, _setup_totp(b, back))
    assert context_of(world, answer, None) == MFA and parse_post_form(answer.text).action == ACS


def test_sp_initiated_step_up_of_a_session_enrols_a_passkey_and_continues(world):
    _app_requires_mfa(world)
    b = signed_in(world)  # a password session from before
    req_id, setup = sso(b)
    assert setup.path == "/account/setup" and no_response(setup)
    added = register(b, SoftAuthenticator(ORIGIN))  # "Add a passkey" on the enrolment page
    assert "Passkey added." in added.text
    assert context_of(world, _continue(b, added), req_id) == MFA


def test_idp_initiated_passkey_enrolment_continues(world):
    _app_requires_mfa(world)
    b = LambdaClient(world.resolver)
    setup = password_step(b, b.request("GET", "/saml2/open"))
    form = parse_inputs(setup.text.split('data-webauthn="register"', 1)[1])  # the enrolment page's "Add a passkey"
    auth = SoftAuthenticator(ORIGIN)
    options = b.request("POST", "/account/passkeys/options", form={"csrf": form["csrf"]})
    added = b.request("POST", "/account/passkeys", form={**form, "name": "Laptop", "credential": auth.create(options.text)})
    assert "Passkey added." in added.text
    assert context_of(world, _continue(b, added), None) == MFA


# ---------------------------------------------------------------------------- item 5: a methods change


def test_a_factor_of_a_method_turned_off_is_still_asked_for_then_an_allowed_one_is_enrolled(world):
    """The review's steps: TOTP enrolled, then PUT /admin/mfa {"policy": "optional", "methods": ["webauthn"]}. The
    next sign-in asks for the code (never the password alone), then for a passkey before the Response."""
    set_policy(world, policy="optional")
    secret, _ = enrol_totp(signed_in(world))
    set_policy(world, policy="optional", methods=["webauthn"])
    b = LambdaClient(world.resolver)
    req_id, page = sso(b)
    second = password_step(b, page)
    assert no_response(second), "a password alone signed in a user who holds a factor"
    assert 'name="code"' in second.text
    setup = code_step(b, second, next_code(secret))
    assert no_response(setup) and setup.path == "/account/setup", (setup.status, setup.path)
    assert "Add a passkey" in setup.text and "Set up authenticator app" not in setup.text
    added = register(b, SoftAuthenticator(ORIGIN))
    assert context_of(world, _continue(b, added), req_id) == MFA


def test_idp_initiated_after_a_methods_change_and_a_recovery_code_for_a_passkey_user(world):
    """A passkey user, then methods totp only (passkeys off): the sign-in still asks for a second factor, never
    the password alone (before: straight to enrolment, with the password only). A recovery code answers it (a
    one-time code, which the totp method counts), so the app gets its Response."""
    set_policy(world, policy="required", grace_days=0)
    c = signed_in(world)
    added = register(c, SoftAuthenticator(ORIGIN))
    codes = re.findall(r"<li><code>([a-z0-9-]{19})</code></li>", added.text)
    set_policy(world, policy="required", grace_days=0, methods=["totp"])
    b = LambdaClient(world.resolver)
    second = password_step(b, b.request("GET", "/saml2/open"))
    assert no_response(second) and 'name="code"' in second.text
    assert "Use a passkey" not in second.text  # passkeys are off
    assert context_of(world, code_step(b, second, codes[0]), None) == MFA
