"""The user's account and MFA use cases (idp.app.account.MyAccount, idp.app.passkey_sign_in.PasskeySignIn,
idp.app.mfa_admin.MfaAdmin; issue 24 item 1) as the container hands them out, built from Settings on moto: each
answer is a typed value (the guard's gate, a TOTP setup whose seed the use case unseals again after a wrong code, the
factor added with its renewed session, the password change's refusals, a paused sign-in resumed, a passkey sign-in
throttled and counted, an unknown user's 404, a reset that ends sessions). The routes only parse, call and render
(test_mfa_http.py, test_mfa_passkeys_http.py and test_account_security_http.py drive the same answers over HTTP)."""
from __future__ import annotations

import time

import pytest

from idp.app.account import (
    CurrentPasswordRefused,
    FactorAdded,
    Gate,
    MethodOff,
    NewPasswordRefused,
    NothingToResume,
    PasskeyRefused,
    PasswordChanged,
    ResumeAt,
    ResumeSso,
    SetupExpired,
    ToLoginForm,
    WrongCode,
)
from idp.app.acting import Acting
from idp.app.browser import Client
from idp.app.factors import Factor
from idp.app.passkey_sign_in import FormExpired, PasskeyFailed, Throttled
from idp.app.sign_in import Resumed
from idp.app.sso import PostToSp
from idp.bootstrap import container
from idp.kernel.audit import API_ADMIN
from idp.kernel.errors import DomainError
from idp.signon.login import LoginSubmission
from idp.signon.mfa import totp
from idp.signon.mfa.policy import OTP, WEBAUTHN
from idp.signon.mfa.policy_body import MfaPolicySettings
from idp.signon.models import PendingSignOn
from idp.signon.policy import MFA
from idp_testing.lambda_client import LambdaClient
from idp_testing.mfa_http import password_step, signed_in
from idp_testing.soft_authenticator import SoftAuthenticator

BASE = "https://idp.example.com"
CLIENT = Client("198.51.100.23", "account-use-case-test")
NEW_PASSWORD = "Violet-Harbor-Lantern-42"
BROWSER = "b" * 32


def _current(world):
    """A signed-in session of ada (password typed now) through the login function's routes; the use case reads it."""
    c = signed_in(world)
    sid = next(v for k, v in c.jar.items() if k.endswith("idp_session"))
    current = container().my_account.signed_in(sid)
    assert current is not None and current.uid == world.user["id"]
    return current


def _policy(**body) -> None:
    container().mfa_admin.set_policy(MfaPolicySettings(**{"policy": "optional", "grace_days": 0,
                                                          "methods": ["totp", "webauthn"], **body}),
                                     actor=API_ADMIN, client=CLIENT)


def _enrol_totp(current):
    account = container().my_account
    setup = account.begin_totp(current)
    added = account.confirm_totp(current, setup.factor_id, totp.code_at(setup.secret, time.time()), ip=CLIENT.ip)
    assert isinstance(added, FactorAdded)
    return setup, added


def test_a_fresh_session_may_manage_and_sees_no_factor(world):
    account = container().my_account
    current = _current(world)
    assert account.gate(current) is Gate.OPEN
    view = account.view(current)
    assert (view.factors, view.recovery_left, view.totp_allowed, view.passkeys_allowed) == ((), 0, True, True)
    assert account.regenerate_recovery(current) is None  # no factor: no codes
    assert account.signed_in("not-a-session") is None


def test_totp_setup_a_wrong_code_shows_the_same_setup_and_the_right_one_adds_the_factor(world):
    account = container().my_account
    current = _current(world)
    setup = account.begin_totp(current)
    assert setup.uri.startswith("otpauth://totp/") and "ada%40example.com" in setup.uri
    wrong = "000000" if totp.code_at(setup.secret, time.time()) != "000000" else "111111"
    again = account.confirm_totp(current, setup.factor_id, wrong, ip=CLIENT.ip)
    assert again == WrongCode(setup)  # the seed unsealed by the use case, the same key and URI
    added = account.confirm_totp(current, setup.factor_id, totp.code_at(setup.secret, time.time()), ip=CLIENT.ip)
    assert isinstance(added, FactorAdded) and len(added.recovery_codes) == 10
    assert OTP in added.renewed.session.amr and added.renewed.session_id != current.session_id
    (factor,) = account.view(added.renewed).factors
    assert isinstance(factor, Factor) and (factor.id, factor.type) == (setup.factor_id, "totp")
    assert account.confirm_totp(added.renewed, setup.factor_id, "123456", ip=CLIENT.ip) == SetupExpired()
    # the old session never passed the factor: it must step up before changing sign-in methods
    assert account.gate(current) is Gate.STEP_UP and account.gate(added.renewed) is Gate.OPEN
    codes = account.regenerate_recovery(added.renewed)
    assert codes is not None and len(codes) == 10 and set(codes).isdisjoint(added.recovery_codes)


def test_the_policy_turns_a_method_off_and_rename_and_remove_answer_by_factor(world):
    account = container().my_account
    current = _current(world)
    _policy(methods=["webauthn"])
    assert account.begin_totp(current) is MethodOff.TOTP
    assert account.confirm_totp(current, "totp-x", "123456", ip=None) is MethodOff.TOTP
    _policy(methods=["totp"])
    assert account.passkey_options(current, base_url=BASE) is MethodOff.PASSKEYS
    assert account.add_passkey(current, "{}", "Laptop", base_url=BASE, ip=None) is MethodOff.PASSKEYS
    setup, added = _enrol_totp(current)
    assert account.rename(added.renewed, setup.factor_id, "My phone") is True
    assert account.rename(added.renewed, setup.factor_id, "   ") is False
    assert account.remove(added.renewed, "totp-nope") is False
    assert account.remove(added.renewed, setup.factor_id) is True
    assert account.view(added.renewed).factors == () and account.view(added.renewed).recovery_left == 0


def test_a_passkey_added_then_signs_in_through_the_passkey_use_case_which_counts_its_failures(world):
    account, sign_in = container().my_account, container().passkey_sign_in
    current = _current(world)
    auth = SoftAuthenticator(BASE)
    junk = account.add_passkey(current, '{"id": "junk"}', "Junk", base_url=BASE, ip=None)
    assert isinstance(junk, PasskeyRefused) and junk.message and account.view(current).factors == ()
    added = account.add_passkey(current, auth.create(account.passkey_options(current, base_url=BASE)), "Laptop",
                                base_url=BASE, ip=CLIENT.ip)
    assert isinstance(added, FactorAdded) and WEBAUTHN in added.renewed.session.amr and len(added.recovery_codes) == 10

    state = container().signon.begin_login(BROWSER)  # a passwordless sign-in of this browser
    assert sign_in.options(state.login_id, "wrong-csrf", BROWSER, base_url=BASE) == FormExpired()
    assert sign_in.options(state.login_id, state.csrf, "another-browser-" + "x" * 20, base_url=BASE) == FormExpired()
    submission = LoginSubmission(state.login_id, state.csrf, BROWSER, "", "", CLIENT.ip)
    refused = sign_in.verify(submission, '{"id": "junk"}', base_url=BASE, client=CLIENT)
    assert isinstance(refused, PasskeyFailed) and refused.code
    answer = sign_in.verify(submission, auth.get(sign_in.options(state.login_id, state.csrf, BROWSER, base_url=BASE)),
                            base_url=BASE, client=CLIENT)
    assert isinstance(answer, Resumed) and answer.logged_in.signed_in.uid == world.user["id"]
    assert answer.answer is None and answer.path == "/" and WEBAUTHN in answer.logged_in.signed_in.session.amr

    # a second step (past the password): a refused passkey counts on the user's MFA throttle until it holds back
    step = container().signon.begin_step_up(BROWSER, current.session, PendingSignOn.account())
    second = LoginSubmission(step.login_id, step.csrf, BROWSER, "", "", CLIENT.ip)
    for _ in range(10):
        outcome = sign_in.verify(second, '{"id": "junk"}', base_url=BASE, client=CLIENT)
        if isinstance(outcome, Throttled):
            break
        assert isinstance(outcome, PasskeyFailed)
    assert outcome == Throttled(world.user["id"], outcome.wait) and outcome.wait > 0
    assert container().signon_state.throttle(MFA, world.user["id"]).wait == outcome.wait


def test_the_password_change_refuses_a_weak_new_one_then_a_wrong_current_one_then_changes(world):
    account = container().my_account
    current = _current(world)
    weak = account.change_password(current, current_password="whatever", new_password="ada", client=CLIENT, device=None)
    assert isinstance(weak, NewPasswordRefused) and weak.status == 400 and weak.message.startswith("The new password")
    wrong = account.change_password(current, current_password="not-the-password-1234", new_password=NEW_PASSWORD,
                                    client=CLIENT, device=None)
    assert wrong == CurrentPasswordRefused("wrong_credentials", 0)
    from idp_testing.lambda_client import PASSWORD

    changed = account.change_password(current, current_password=PASSWORD, new_password=NEW_PASSWORD, client=CLIENT,
                                      device=None)
    assert isinstance(changed, PasswordChanged)
    assert account.signed_in(current.session_id) is None  # every other session ended
    assert account.signed_in(changed.renewed.session_id) is not None and account.gate(changed.renewed) is Gate.OPEN
    c = LambdaClient(world.resolver)
    assert password_step(c, c.request("GET", "/login"), password=NEW_PASSWORD).path == "/"


def test_resume_goes_on_only_to_a_sign_in_an_enrolment_paused(world):
    account, signon = container().my_account, container().signon
    current = _current(world)
    assert account.resume(current, "no-such-login", BROWSER, base_url=BASE, client=CLIENT) == NothingToResume()
    form = signon.begin_login(BROWSER)  # a login form's state: it goes on through its form, password first
    assert account.resume(current, form.login_id, BROWSER, base_url=BASE, client=CLIENT) == ToLoginForm(form.login_id)

    paused = signon.pause_for_enrolment(BROWSER, current.uid, PendingSignOn.account("/account"))
    assert account.paused_sign_in(current, [None, paused.login_id], BROWSER) == paused.login_id
    assert account.paused_sign_in(current, [paused.login_id], "another-browser-" + "y" * 20) is None
    assert account.resume(current, paused.login_id, BROWSER, base_url=BASE, client=CLIENT) == ResumeAt("/account")
    assert account.resume(current, paused.login_id, BROWSER, base_url=BASE, client=CLIENT) == NothingToResume()  # used

    sso = signon.pause_for_enrolment(BROWSER, current.uid, PendingSignOn.idp("open"))
    resumed = account.resume(current, sso.login_id, BROWSER, base_url=BASE, client=CLIENT)
    assert isinstance(resumed, ResumeSso) and isinstance(resumed.answer, PostToSp)
    assert resumed.answer.acs_url == "https://open.example.com/acs"


def test_mfa_admin_lists_and_resets_a_users_factors_and_404s_an_unknown_one(world):
    admin = container().mfa_admin
    current = _current(world)
    setup, added = _enrol_totp(current)
    (factor,) = admin.factors(current.uid)
    assert set(factor.as_dict()) == {"id", "type", "name", "created_at", "last_used_at"}  # no seed, no key
    assert (factor.id, factor.type, factor.name) == (setup.factor_id, "totp", "Authenticator app")
    with pytest.raises(DomainError) as unknown:
        admin.factors("no-such-user")
    assert unknown.value.status == 404
    with pytest.raises(DomainError):
        admin.reset("no-such-user", Acting(API_ADMIN))
    assert admin.reset(current.uid, Acting(API_ADMIN)) > 0
    assert admin.factors(current.uid) == ()
    assert container().my_account.signed_in(added.renewed.session_id) is None  # the reset ended every session
    _policy(policy="required", grace_days=3, methods=["webauthn"])
    assert admin.policy().view() == {"policy": "required", "grace_days": 3, "methods": ["webauthn"]}
