"""Property: with the MFA policy ``required``, no assertion reaches the SP without a second factor, whatever a
browser does: SP- and IdP-initiated starts, ForceAuthn, IsPassive, right and wrong passwords, right and wrong
codes, abandoned second steps, new browsers. Hypothesis draws the sequences; every SAMLResponse that carries
an assertion must say the REFEDS MFA profile, and must follow a second factor typed in that browser."""

from __future__ import annotations

import base64
import time
import uuid

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_mfa_http import (  # noqa: F401 - world and env are fixtures
    MFA,
    PASSWORD,
    LambdaClient,
    code_step,
    context_of,
    env,
    password_step,
    set_policy,
    sso,
    world,
)

from idp import bootstrap
from idp.signon.mfa import totp
from idp_testing.saml_browser import parse_post_form

ACTIONS = st.lists(st.sampled_from(["sp", "idp", "force", "passive", "new_browser"]), min_size=1, max_size=6)
ANSWERS = st.lists(st.sampled_from(["password", "wrong_password", "code", "wrong_code", "abandon"]), min_size=12, max_size=12)


def _user_with_a_factor():
    """A fresh user bound to ``open`` with an authenticator app (confirmed) and recovery codes."""
    parts = bootstrap.container()
    tag = uuid.uuid4().hex[:8]
    user = parts.directory.create_user({"username": f"p{tag}", "email": f"p{tag}@example.com", "firstname": "P",
                                        "lastname": "Q", "password": PASSWORD})
    parts.directory.bind_user("open", user["id"], bind=True)
    setup = parts.mfa.begin_totp(user["id"], user["email"])
    assert parts.mfa.confirm_totp(user["id"], setup.factor_id, totp.code_at(setup.secret, time.time())) is not None
    return user, parts.mfa.regenerate_recovery(user["id"])


@settings(max_examples=12, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(actions=ACTIONS, answers=ANSWERS)
def test_no_assertion_without_a_second_factor(world, actions, answers):  # noqa: F811 - the imported fixture
    set_policy(world, policy="required", grace_days=0)
    user, codes = _user_with_a_factor()
    fresh, answer = iter(codes), iter(answers)
    browser, session_mfa = LambdaClient(world.resolver), False  # session_mfa: this browser's session passed a factor
    for action in actions:
        if action == "new_browser":
            browser, session_mfa = LambdaClient(world.resolver), False
            continue
        if action == "idp":
            req_id, page = None, browser.request("GET", "/saml2/open")
        else:
            req_id, page = sso(browser, force_authn=action == "force", is_passive=action == "passive")
        typed_now = False  # a factor typed in this sign-in (ForceAuthn must have one: it asks for every factor again)
        for _ in range(3):
            form = parse_post_form(page.text)
            if form is not None:
                xml = base64.b64decode(form.saml_response).decode()
                if "<saml:Assertion" in xml:
                    # an assertion only after a second factor: in this sign-in, or (not ForceAuthn) in the session's
                    assert typed_now or (session_mfa and action != "force"), (actions, answers)
                    assert context_of(world, page, req_id) == MFA
                break
            choice = next(answer, "abandon")
            if 'name="password"' in page.text and choice in ("password", "wrong_password", "code", "wrong_code"):
                page = password_step(browser, page, username=user["username"],
                                     password=PASSWORD if choice != "wrong_password" else "not-it")
            elif 'name="code"' in page.text and choice in ("code", "wrong_code", "password"):
                right = choice != "wrong_code"
                page = code_step(browser, page, next(fresh) if right else "000000")
                if right and page.status == 200:
                    typed_now = session_mfa = True
            else:
                break  # the browser walks away from this sign-in
