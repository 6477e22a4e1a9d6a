"""Property: no assertion reaches the SP without a second factor when one is required (or enrolled: contract
section 7), whatever a browser does. Hypothesis draws the sequences (and always plays the examples that walk the
paths of issue 23); every SAMLResponse that carries an assertion must say the REFEDS MFA profile, must follow a
second factor proven in that browser, and (ForceAuthn) a password and a factor typed in that very sign-in.

The first property: policy ``required`` or ``optional`` and a user with an authenticator app; SP- and IdP-initiated starts,
ForceAuthn, IsPassive, right and wrong passwords and codes, abandoned second steps, new browsers, POST
/account/resume of whatever sign-in the browser last saw (issue 23 item 1), and the policy's methods changing
(passkeys only: the app's factor is still asked for and no Response comes until a passkey is enrolled; item 5).
The second: policy ``optional``, an app that requires MFA and a user with no factor (issue 23 item 2): the step-up
sends SP- and IdP-initiated sign-ins to enrol, and only the enrolled factor (TOTP or passkey) and Continue lead on;
once a factor is enrolled on the way, the page offers Continue (the paused sign-in was carried through)."""

from __future__ import annotations

import base64
import re
import time
import uuid

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from idp import bootstrap
from idp.signon.mfa import totp
from idp_testing.lambda_client import PASSWORD, LambdaClient
from idp_testing.mfa_http import MFA, ORIGIN, code_step, context_of, password_step, set_policy, sso
from idp_testing.saml_browser import parse_inputs, parse_post_form
from idp_testing.soft_authenticator import SoftAuthenticator

ACTIONS = st.lists(st.sampled_from(["sp", "idp", "force", "passive", "new_browser", "resume", "methods"]), min_size=1, max_size=6)
ANSWERS = st.lists(st.sampled_from(["password", "wrong_password", "code", "wrong_code", "abandon"]), min_size=12, max_size=12)
BOTH, PASSKEYS_ONLY = ["totp", "webauthn"], ["webauthn"]


def _new_user(*, with_totp: bool):
    """A fresh user bound to ``open``; with an authenticator app (confirmed) and its recovery codes, or no factor."""
    parts = bootstrap.container()
    tag = uuid.uuid4().hex[:8]
    user = parts.directory.create_user({"username": f"p{tag}", "email": f"p{tag}@example.com", "firstname": "P",
                                        "lastname": "Q", "password": PASSWORD})
    parts.directory.bind_user("open", user["id"], bind=True)
    if not with_totp:
        return user, []
    setup = parts.mfa.begin_totp(user["id"], user["email"])
    assert parts.mfa.confirm_totp(user["id"], setup.factor_id, totp.code_at(setup.secret, time.time())) is not None
    return user, parts.mfa.regenerate_recovery(user["id"])


def _session_csrf(browser: LambdaClient) -> str:
    """The session's CSRF token (the portal's Sign out form), or a stand-in when the browser has no session."""
    page = browser.request("GET", "/", follow=False)
    return parse_inputs(page.text).get("csrf", "none") if page.status == 200 else "none"


class Seen:
    """What a browser saw of its sign-ins: the last login state (a login form's or an enrolment's), the request it
    was for, and whether that sign-in was past its password (its second step, or an enrolment after it)."""

    def __init__(self):
        self.state, self.req_id, self.force, self.past_password = None, None, False, False

    def note(self, page, req_id, force, password_now) -> None:
        fields = parse_inputs(page.text)
        lid = fields.get("login") or fields.get("resume")
        if lid:
            past = password_now or (lid == self.state and self.past_password)
            self.state, self.req_id, self.force, self.past_password = lid, req_id, force, past


def _check_assertion(w, page, req_id, *, force: bool, password_now: bool, factor_now: bool, session_mfa: bool, why):
    """An assertion only after a second factor: in this sign-in, or (not ForceAuthn) in the session's; ForceAuthn
    also needs the password typed in this sign-in."""
    if force:
        assert password_now and factor_now, why
    else:
        assert factor_now or session_mfa, why
    assert context_of(w, page, req_id) == MFA, why


def _has_assertion(page) -> bool:
    form = parse_post_form(page.text)
    return form is not None and "<saml:Assertion" in base64.b64decode(form.saml_response).decode()


_ABANDON = ["abandon"] * 12


@settings(max_examples=12, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(policy=st.sampled_from(["required", "optional"]), actions=ACTIONS, answers=ANSWERS)
# ForceAuthn left at its login form, then POST /account/resume of it with the session's token (item 1)
@example(policy="required", actions=["sp", "force", "resume"], answers=["password", "code", *_ABANDON][:12])
# the methods change to passkeys only, then a sign-in of the authenticator-app user (item 5)
@example(policy="optional", actions=["methods", "sp"], answers=["password", "code", *_ABANDON][:12])
def test_no_assertion_without_a_second_factor(world, policy, actions, answers):
    set_policy(world, policy=policy, grace_days=0, methods=BOTH)
    methods = BOTH
    user, codes = _new_user(with_totp=True)
    fresh, answer = iter(codes), iter(answers)
    browser, session_mfa, seen = LambdaClient(world.resolver), False, Seen()  # session_mfa: this browser's session passed a factor
    for action in actions:
        why = (actions, answers, action)
        if action == "new_browser":
            browser, session_mfa, seen = LambdaClient(world.resolver), False, Seen()
            continue
        if action == "methods":  # passkeys only (the user holds none), or both again
            methods = BOTH if methods == PASSKEYS_ONLY else PASSKEYS_ONLY
            set_policy(world, policy=policy, grace_days=0, methods=methods)
            continue
        password_now = factor_now = False  # typed in this sign-in
        if action == "resume":  # POST /account/resume of the last sign-in this browser saw, with its session's token
            req_id, force, password_now = seen.req_id, seen.force, seen.past_password
            page = browser.request("POST", "/account/resume", form={"csrf": _session_csrf(browser), "resume": seen.state or "none"})
        elif action == "idp":
            req_id, force, page = None, False, browser.request("GET", "/saml2/open")
        else:
            force = action == "force"
            req_id, page = sso(browser, force_authn=force, is_passive=action == "passive")
        for _ in range(3):
            seen.note(page, req_id, force, password_now)
            if parse_post_form(page.text) is not None:
                if _has_assertion(page):
                    assert methods == BOTH, why  # the user holds no passkey: passkeys only means no Response at all
                    _check_assertion(world, page, req_id, force=force, password_now=password_now, factor_now=factor_now,
                                     session_mfa=session_mfa, why=why)
                break
            choice = next(answer, "abandon")
            if 'name="password"' in page.text and choice in ("password", "wrong_password", "code", "wrong_code"):
                right = choice != "wrong_password"
                page = password_step(browser, page, username=user["username"], password=PASSWORD if right else "not-it")
                password_now = password_now or right
            elif 'name="code"' in page.text and choice in ("code", "wrong_code", "password"):
                right = choice != "wrong_code"
                page = code_step(browser, page, next(fresh) if right else "000000")
                if right and page.status == 200:
                    factor_now = session_mfa = True
            else:
                break  # the browser walks away from this sign-in (an enrolment page included)


# ---------------------------------------------------------------------------- step-up through enrolment

STEP_UP_ACTIONS = st.lists(st.sampled_from(["sp", "idp", "force", "resume", "new_browser", "methods"]), min_size=1, max_size=5)
STEP_UP_ANSWERS = st.lists(st.sampled_from(["password", "wrong_password", "enrol", "continue", "code", "abandon"]),
                           min_size=14, max_size=14)


class Enrolled:
    """The user's factors as the property enrolled them: recovery codes to answer a second step with."""

    def __init__(self):
        self.codes: list[str] = []


def _enrol(browser: LambdaClient, page, enrolled: Enrolled):
    """On an enrolment page: the authenticator app where the policy allows it, else a passkey (software authenticator)."""
    if 'action="/account/totp"' in page.text:
        fields = parse_inputs(page.text.split('action="/account/totp"', 1)[1].split("</form>", 1)[0])
        setup = browser.request("POST", "/account/totp", form=fields)
        secret = re.search(r'data-testid="setup-key">([A-Z2-7]+)<', setup.text).group(1)
        done = browser.request("POST", "/account/totp/confirm",
                               form={**parse_inputs(setup.text), "code": totp.code_at(secret, time.time())})
    else:
        form = parse_inputs(page.text.split('data-webauthn="register"', 1)[1])
        options = browser.request("POST", "/account/passkeys/options", form={"csrf": form["csrf"]})
        done = browser.request("POST", "/account/passkeys", form={**form, "name": "Key",
                                                                  "credential": SoftAuthenticator(ORIGIN).create(options.text)})
    enrolled.codes += re.findall(r"<li><code>([a-z0-9-]{19})</code></li>", done.text)
    return done


@settings(max_examples=10, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(actions=STEP_UP_ACTIONS, answers=STEP_UP_ANSWERS)
# IdP-initiated step-up: enrol, Continue; then passkeys only, and a new browser: the code, a passkey, Continue (items 2, 5)
@example(actions=["idp", "methods", "new_browser", "idp"],
         answers=["password", "enrol", "continue", "password", "code", "enrol", "continue", *["abandon"] * 7])
# ForceAuthn through enrolment, then resume of what the browser saw last (items 1, 2)
@example(actions=["force", "resume", "sp"], answers=["password", "enrol", "continue", *["abandon"] * 11])
def test_a_step_up_through_enrolment_gives_no_assertion_without_the_factor(world, actions, answers):
    set_policy(world, policy="optional", methods=BOTH)
    assert world.admin("PATCH", "/admin/apps/open", {"mfa": "required"})[0] == 200
    methods = BOTH
    user, _ = _new_user(with_totp=False)
    enrolled, answer = Enrolled(), iter(answers)
    browser, session_mfa, seen = LambdaClient(world.resolver), False, Seen()
    for action in actions:
        why = (actions, answers, action)
        if action == "new_browser":
            browser, session_mfa, seen = LambdaClient(world.resolver), False, Seen()
            continue
        if action == "methods":
            methods = BOTH if methods == PASSKEYS_ONLY else PASSKEYS_ONLY
            set_policy(world, policy="optional", methods=methods)
            continue
        password_now = factor_now = False
        if action == "resume":
            req_id, force, password_now = seen.req_id, seen.force, seen.past_password
            page = browser.request("POST", "/account/resume", form={"csrf": _session_csrf(browser), "resume": seen.state or "none"})
        elif action == "idp":
            req_id, force, page = None, False, browser.request("GET", "/saml2/open")
        else:
            force = action == "force"
            req_id, page = sso(browser, force_authn=force)
        for _ in range(5):
            seen.note(page, req_id, force, password_now)
            if parse_post_form(page.text) is not None:
                if _has_assertion(page):
                    _check_assertion(world, page, req_id, force=force, password_now=password_now, factor_now=factor_now,
                                     session_mfa=session_mfa, why=why)
                break
            choice = next(answer, "abandon")
            if 'name="password"' in page.text and choice in ("password", "wrong_password"):
                right = choice == "password"
                page = password_step(browser, page, username=user["username"], password=PASSWORD if right else "not-it")
                password_now = password_now or right
            elif 'name="code"' in page.text and choice == "code" and enrolled.codes:
                page = code_step(browser, page, enrolled.codes.pop())
                if page.status == 200:
                    factor_now = session_mfa = True
            elif "Set up authenticator app" in page.text or "Add a passkey" in page.text:
                if choice == "enrol" and 'name="current_password"' in page.text:
                    page = _enrol(browser, page, enrolled)
                    factor_now = session_mfa = True  # the new factor's code (or passkey) proved it
                    assert 'action="/account/resume"' in page.text, ("the paused sign-in was lost", *why)
                elif choice == "continue" and 'action="/account/resume"' in page.text:
                    page = browser.request("POST", "/account/resume",
                                           form=parse_inputs(page.text.split('action="/account/resume"', 1)[1]))
                else:
                    break
            else:
                break
