"""Which audit events one run of the login flow stands for (idp.signon.audit_trail), and the sso status reasons."""
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


def test_logout_events_and_sso_status_reasons():
    from idp.web.sso_audit import status_reason

    assert (logout_event("u-1").outcome, logout_event("u-1", slo=True, reason="nameid_mismatch").reason) == ("success", "nameid_mismatch")
    assert logout_event(None, slo=True, reason="bad_signature").outcome == "failure"
    assert status_reason("urn:oasis:names:tc:SAML:2.0:status:NoPassive") == "no_passive"
    assert status_reason("urn:oasis:names:tc:SAML:2.0:status:InvalidNameIDPolicy") == "invalid_nameid_policy"
    assert status_reason("urn:oasis:names:tc:SAML:2.0:status:NoAuthnContext", "the user has no second factor") == "mfa_required"
    assert status_reason("urn:oasis:names:tc:SAML:2.0:status:NoAuthnContext", "Kerberos cannot be met") == "no_authn_context"
