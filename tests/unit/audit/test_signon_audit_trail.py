"""Which audit events one run of the login flow stands for (idp.signon.audit_trail), and the reasons the SAML
statuses of a missing second factor carry (idp.signon.sso)."""
from __future__ import annotations

from idp.signon.audit_trail import login_events, logout_event
from idp.signon.login import LoggedIn, Refused, ShowForm


def _kinds(events):
    return [(e.type, e.outcome, e.reason, e.user_id) for e in events]


def test_password_step_outcomes():
    common = {"app": "os", "ip": "198.51.100.7", "user_agent": "ua"}
    wrong = ShowForm(state=None, reason="wrong_credentials", username="ada")
    assert _kinds(login_events(wrong, account_uid="u-1", password_checked=False, **common)) == [
        ("login", "failure", "wrong_password", "u-1")]
    assert _kinds(login_events(wrong, account_uid=None, password_checked=False, **common)) == [
        ("login", "failure", "unknown_user", None)]
    locking = ShowForm(state=None, reason="wrong_credentials", username="ada", retry_after=30)
    events = login_events(locking, account_uid="u-1", password_checked=False, **common)
    assert _kinds(events) == [("login", "failure", "wrong_password", "u-1"), ("lockout", "failure", "too_many_failures", "u-1")]
    assert events[1].detail == {"retry_after": 30} and events[0].ip == "198.51.100.7" and events[0].user_agent == "ua"
    throttled = ShowForm(state=None, reason="throttled", username="ada", retry_after=12)
    assert _kinds(login_events(throttled, account_uid="u-1", password_checked=False, **common)) == [
        ("login", "failure", "locked_out", "u-1")]
    assert _kinds(login_events(Refused("user_suspended", "x", uid="u-1"), account_uid="u-1", password_checked=True, **common)) == [
        ("login", "failure", "suspended", "u-1")]
    assert _kinds(login_events(Refused("csrf_failed", "x"), account_uid=None, password_checked=False, **common)) == [
        ("login", "failure", "csrf_failed", None)]


def test_a_password_that_leads_to_a_second_step_is_a_success_and_the_second_step_records_nothing_here():
    second = ShowForm(state=None, reason="second_factor", username="ada")
    (event,) = login_events(second, account_uid="u-1", password_checked=True, app=None, ip=None, user_agent=None)
    assert (event.type, event.outcome, event.detail) == ("login", "success", {"next_step": "second_factor"})
    assert login_events(ShowForm(state=None, reason="wrong_code", username=""), account_uid="u-1", password_checked=False,
                        app=None, ip=None, user_agent=None) == []
    done = LoggedIn(signed_in=None, pending=None)
    assert login_events(done, account_uid="u-1", password_checked=False, app=None, ip=None, user_agent=None) == []
    assert _kinds(login_events(done, account_uid="u-1", password_checked=True, app=None, ip=None, user_agent=None)) == [
        ("login", "success", None, "u-1")]


def test_logout_events():
    assert (logout_event("u-1").outcome, logout_event("u-1", slo=True, reason="nameid_mismatch").reason) == ("success", "nameid_mismatch")
    assert logout_event(None, slo=True, reason="bad_signature").outcome == "failure"


def test_the_statuses_a_missing_second_factor_answers_carry_mfa_required():
    from idp.saml import constants as C
    from idp.signon.mfa.policy import Need
    from idp.signon.models import PendingSignOn
    from idp.signon.sso import NOT_SIGNED_IN_PASSIVE, mfa_status

    asked = PendingSignOn.sp("os", "_r1", "https://sp/acs", None, False, mfa_requested=True)
    plain = PendingSignOn.sp("os", "_r2", "https://sp/acs", None, False)
    no_factor = mfa_status(Need.NO_CONTEXT, asked, passive=False)
    assert (no_factor.sub_code, no_factor.reason) == (C.STATUS_NO_AUTHN_CONTEXT, "mfa_required")
    passive = mfa_status(Need.VERIFY, plain, passive=True)
    assert (passive.sub_code, passive.reason) == (C.STATUS_NO_PASSIVE, "mfa_required")
    assert mfa_status(Need.VERIFY, asked, passive=True).sub_code == C.STATUS_NO_AUTHN_CONTEXT
    assert mfa_status(Need.VERIFY, plain, passive=False) is None  # a page asks for the factor
    assert (NOT_SIGNED_IN_PASSIVE.sub_code, NOT_SIGNED_IN_PASSIVE.reason) == (C.STATUS_NO_PASSIVE, "no_passive")
