"""Issue 23, items 3, 4, 6 and 9, over HTTP through the Lambda resolvers on moto (the container built from
the settings, as the functions build it): a stolen session cookie cannot change sign-in methods without the
password typed again (IDP_REAUTH_SECONDS), the account page's password change is no unthrottled oracle of
the current password, administrators pass a second factor for the console whatever the policy, and a user's
own password change is audited as theirs."""

from __future__ import annotations

import json
import re
import time

import pytest

from idp import bootstrap
from idp_testing.lambda_client import PASSWORD, LambdaClient
from idp_testing.lambda_events import LambdaContext, http_event
from idp_testing.mfa_http import (
    MFA,
    NEW,
    SESSION,
    World,
    change_password,
    code_step,
    context_of,
    enrol_totp,
    next_code,
    password_step,
    set_policy,
    signed_in,
    sso,
    with_password_route,
)
from idp_testing.saml_browser import parse_inputs


def events(**query) -> list[dict]:
    from idp.web.audit_routes import router as audit_router
    from idp.web.resolver import lambda_app

    out = lambda_app(audit_router).resolve(http_event("GET", "/admin/events", query={"limit": "100", **query}), LambdaContext())
    assert out["statusCode"] == 200, out
    return json.loads(out["body"])["items"]


# ---------------------------------------------------------------------------- item 9


def test_a_users_own_password_change_is_audited_as_theirs_with_address_and_user_agent(world):
    with_password_route(world)
    uid = world.user["id"]
    c = signed_in(world)
    csrf = parse_inputs(c.request("GET", "/account").text)["csrf"]
    assert change_password(c, csrf, PASSWORD).status == 200
    (changed,) = [e for e in events(user_id=uid, type="admin.user.updated") if "password" in (e.get("changes") or [])]
    assert changed["actor"] == {"type": "user", "id": uid}, changed
    assert changed["ip"] == c.ip and changed["user_agent"] == "pytest", changed
    assert PASSWORD not in json.dumps(changed) and NEW not in json.dumps(changed)


# ---------------------------------------------------------------------------- item 4


def test_a_refused_new_password_reads_the_same_whatever_the_current_password(world):
    with_password_route(world)
    c = signed_in(world)
    csrf = parse_inputs(c.request("GET", "/account").text)["csrf"]
    right, wrong = change_password(c, csrf, PASSWORD, "x"), change_password(c, csrf, "not-my-password", "x")
    assert right.status == wrong.status == 400
    message = re.compile(r'<p class="field-error" id="new_password-error" role="alert">(.*?)</p>')  # beside the field
    assert message.search(right.text).group(1) == message.search(wrong.text).group(1)
    assert "new password" in message.search(right.text).group(1).lower()


def test_wrong_current_passwords_are_failed_sign_ins_throttled_audited_and_counted(world, monkeypatch, capsys):
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    with_password_route(world)
    uid = world.user["id"]
    c = signed_in(world)
    csrf = parse_inputs(c.request("GET", "/account").text)["csrf"]
    capsys.readouterr()
    statuses = []
    for _ in range(7):
        r = change_password(c, csrf, "not-my-password")
        statuses.append(r.status)
        if r.status == 429:
            break
    # the login's limit for an account from a browser that signed in to it before: 5 failures, then a delay
    assert statuses == [401] * 5 + [429], statuses
    assert int(r.headers["retry-after"]) > 0
    held = change_password(c, csrf, PASSWORD)  # while delayed, even the right password is not checked
    assert held.status == 429 and "Password changed" not in held.text
    # and this browser's login page holds the account back too (the same counter: the account from this browser)
    same_browser = LambdaClient(world.resolver)
    same_browser.jar = {name: value for name, value in c.jar.items() if name.endswith("idp_device")}
    assert same_browser.jar
    assert password_step(same_browser, same_browser.request("GET", "/login"), password=PASSWORD).status == 429

    failures = [e for e in events(user_id=uid, type="login", outcome="failure")]
    assert [e["reason"] for e in failures].count("wrong_password") == 5, failures
    assert {e["ip"] for e in failures} == {c.ip} and all(e["actor"] == {"type": "user", "id": uid} for e in failures)
    assert "locked_out" in [e["reason"] for e in failures]
    assert events(user_id=uid, type="lockout")
    metrics = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{") and "LoginFailures" in line]
    reasons = [m["reason"] for m in metrics]
    assert reasons.count("wrong_credentials") == 5 and "throttled" in reasons, reasons


def test_a_right_current_password_forgets_its_failures(world):
    with_password_route(world)
    c = signed_in(world)
    csrf = parse_inputs(c.request("GET", "/account").text)["csrf"]
    for _ in range(4):
        assert change_password(c, csrf, "not-my-password").status == 401
    done = change_password(c, csrf, PASSWORD)
    assert done.status == 200 and "Password changed" in done.text
    csrf = parse_inputs(done.text)["csrf"]
    for _ in range(4):  # counted afresh: four more are still below the limit
        assert change_password(c, csrf, "not-my-password").status == 401


# ---------------------------------------------------------------------------- item 3


@pytest.fixture
def short_reauth(monkeypatch):
    """IDP_REAUTH_SECONDS=3: a password typed more than three seconds ago is too old to change sign-in methods
    (long enough for an enrolment's requests on a busy machine)."""
    monkeypatch.setenv("IDP_REAUTH_SECONDS", "3")


def stale() -> None:
    """Past the window (it counts whole seconds)."""
    time.sleep(4.1)


def asks_for_the_password(page) -> bool:
    return 'name="password"' in page.text and "setup-key" not in page.text and page.path == "/login"


def test_the_password_prompt_never_returns_outside_the_account_page():
    from idp.signon.models import PendingSignOn

    for hostile in ("https://evil.example/account", "//evil.example/account", "/account/../login", "/accountx",
                    "/account/setup/\\evil", "/account/totp", "/account?x=\x00", None):
        assert PendingSignOn.account(hostile).resume_path == "/account", hostile
    back = PendingSignOn.account("/account/setup?resume=abc")
    assert PendingSignOn.from_item(back.to_item()).resume_path == "/account/setup?resume=abc"


def test_the_reauth_window_defaults_to_five_minutes():
    from idp.settings import Settings

    assert Settings.load({}).idp_reauth_seconds == 300
    assert Settings.load({"IDP_REAUTH_SECONDS": "60"}).idp_reauth_seconds == 60


def test_a_stolen_cookie_cannot_enrol_the_first_factor(short_reauth, world):
    set_policy(world, policy="optional")
    victim = signed_in(world)
    csrf = parse_inputs(victim.request("GET", "/account").text)["csrf"]
    stale()
    thief = LambdaClient(world.resolver, ip="203.0.113.66")
    thief.jar = {SESSION: victim.jar[SESSION]}  # the session cookie alone
    assert asks_for_the_password(thief.request("GET", "/account"))
    assert asks_for_the_password(thief.request("POST", "/account/totp", form={"csrf": csrf}))
    assert asks_for_the_password(thief.request("POST", "/account/recovery", form={"csrf": csrf}))
    options = thief.request("POST", "/account/passkeys/options", form={"csrf": csrf})
    assert options.status == 403 and json.loads(options.text)["error"] == "reauth_required"
    assert bootstrap.container().mfa.factors(world.user["id"]) == []

    # the user types the password again, and is back on the account page, where enrolment works
    again = victim.request("GET", "/account")
    assert asks_for_the_password(again) and "password again" in again.text
    assert "Sign in with a passkey" not in again.text  # a passwordless sign-in would not type the password
    back = password_step(victim, again)
    assert back.path == "/account" and "Set up authenticator app" in back.text
    secret, codes = enrol_totp(victim)
    assert len(codes) == 10


def test_removing_a_factor_later_asks_for_the_password_and_the_factor_again(short_reauth, world):
    set_policy(world, policy="optional")
    c = signed_in(world)
    secret, _ = enrol_totp(c)
    page = c.request("GET", "/account")
    fid = re.search(r'action="/account/factors/([^/"]+)/remove"', page.text).group(1)
    csrf = parse_inputs(page.text)["csrf"]
    stale()
    prompt = c.request("POST", f"/account/factors/{fid}/remove", form={"csrf": csrf})
    assert asks_for_the_password(prompt)
    assert [f["id"] for f in bootstrap.container().mfa.factors(world.user["id"])] == [fid]
    second = password_step(c, prompt)
    assert 'name="code"' in second.text  # the user holds a factor: the password, then the factor
    back = code_step(c, second, next_code(secret))
    assert back.path == "/account"
    csrf = parse_inputs(back.text)["csrf"]
    done = c.request("POST", f"/account/factors/{fid}/remove", form={"csrf": csrf})
    assert done.status == 200 and "Removed" in done.text
    assert bootstrap.container().mfa.factors(world.user["id"]) == []


def test_a_step_up_does_not_refresh_the_password(short_reauth, world):
    """A second factor passed on a session's step-up proves the factor, not the password: the time the password
    was typed stays the sign-in's."""
    set_policy(world, policy="optional")
    older = signed_in(world)  # a password session, before the factor
    secret, _ = enrol_totp(signed_in(world))
    stale()
    req_id, page = sso(older)  # the enrolled factor is asked for: a step-up, the code only
    assert 'name="code"' in page.text and 'name="password"' not in page.text
    assert context_of(world, code_step(older, page, next_code(secret)), req_id) == MFA
    assert asks_for_the_password(older.request("GET", "/account"))


# ---------------------------------------------------------------------------- item 6


def console_world(w: World) -> None:
    from idp.web.console import console_router
    from idp.web.metadata_routes import metadata_router
    from idp.web.resolver import lambda_app
    from idp.web.saml_routes import login_router

    w.resolver = lambda_app(metadata_router, login_router, console_router)
    bootstrap.container().directory.update_user(w.user["id"], {"roles": ["admin"]})


@pytest.mark.parametrize("policy", ["off", "optional"])
def test_an_administrator_enrols_at_the_first_console_visit_whatever_the_policy(world, policy):
    set_policy(world, policy=policy)
    console_world(world)
    c = signed_in(world)  # a password alone
    enrol = c.request("GET", "/console")
    assert enrol.path == "/account/setup" and "second sign-in step" in enrol.text
    assert c.request("GET", "/console/users", follow=False).status == 302  # no console page before the factor
    secret, _ = enrol_totp(c)
    assert c.request("GET", "/console", follow=False).status == 200
    d = LambdaClient(world.resolver)  # a new browser: password, then the code, then the console
    page = password_step(d, d.request("GET", "/console"))
    assert 'name="code"' in page.text
    assert code_step(d, page, next_code(secret)).path.startswith("/console")


def test_a_console_session_without_the_factor_steps_up(world):
    """An administrator whose session says only the password (signed in before the factor was enrolled, from
    another browser) passes the factor before any console page."""
    set_policy(world, policy="off")
    console_world(world)
    older = signed_in(world)
    secret, _ = enrol_totp(signed_in(world))
    page = older.request("GET", "/console")
    assert 'name="code"' in page.text and "Dashboard" not in page.text
    assert code_step(older, page, next_code(secret)).path.startswith("/console")
    assert older.request("GET", "/console", follow=False).status == 200
