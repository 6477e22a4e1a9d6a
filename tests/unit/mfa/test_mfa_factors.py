"""MFA factor logic, pure: TOTP against the RFC 6238 test vectors (SHA-1, the last six digits of the
eight-digit values), drift of one step and replay refusal; recovery codes; the policy's decisions."""
from __future__ import annotations

import base64

import pytest

from idp.signon.mfa import recovery, totp
from idp.signon.mfa.policy import DAY, MfaPolicy, Need, epoch_of, gate, need, satisfied
from idp.signon.mfa.policy_body import MfaPolicySettings
from idp.signon.sso import mfa_requested

RFC_SECRET = base64.b32encode(b"12345678901234567890").decode()  # RFC 6238 Appendix B, SHA-1 seed


@pytest.mark.parametrize("at,code", [
    (59, "287082"), (1111111109, "081804"), (1111111111, "050471"),
    (1234567890, "005924"), (2000000000, "279037"), (20000000000, "353130"),
])
def test_rfc6238_vectors(at, code):
    assert totp.code_at(RFC_SECRET, at) == code
    assert totp.matching_timecode(RFC_SECRET, code, now=at) == at // 30


def test_one_step_of_drift_either_way_and_no_more():
    at = 1234567890
    code = totp.code_at(RFC_SECRET, at)
    assert totp.matching_timecode(RFC_SECRET, code, now=at + 30) == at // 30  # the app's clock 30 s behind
    assert totp.matching_timecode(RFC_SECRET, code, now=at - 30) == at // 30  # ... or ahead
    assert totp.matching_timecode(RFC_SECRET, code, now=at + 61) is None
    assert totp.matching_timecode(RFC_SECRET, code, now=at - 61) is None


def test_a_code_is_accepted_once_and_never_an_older_one():
    at = 1234567890
    code = totp.code_at(RFC_SECRET, at)
    used = totp.matching_timecode(RFC_SECRET, code, now=at)
    assert totp.matching_timecode(RFC_SECRET, code, now=at, last_timecode=used) is None  # replay
    earlier = totp.code_at(RFC_SECRET, at - 30)
    assert totp.matching_timecode(RFC_SECRET, earlier, now=at, last_timecode=used) is None  # within drift, but older
    later = totp.code_at(RFC_SECRET, at + 30)
    assert totp.matching_timecode(RFC_SECRET, later, now=at + 30, last_timecode=used) == used + 1


@pytest.mark.parametrize("junk", ["", "12345", "1234567", "abcdef", None, "12 34 5x"])
def test_malformed_codes_never_match(junk):
    assert totp.matching_timecode(RFC_SECRET, junk, now=59) is None


def test_spaces_in_a_typed_code_are_ignored_and_the_uri_is_what_apps_scan():
    assert totp.matching_timecode(RFC_SECRET, "287 082", now=59) == 1
    uri = totp.provisioning_uri(RFC_SECRET, account="ada@example.com", issuer="OfficeSpace IdP")
    assert uri.startswith("otpauth://totp/OfficeSpace%20IdP:ada%40example.com?") and f"secret={RFC_SECRET}" in uri
    assert len(base64.b32decode(totp.new_secret())) == 20  # 160 bits


def test_recovery_codes_are_ten_distinct_hashed_and_forgiving_of_format():
    codes = recovery.new_codes()
    assert len(codes) == 10 == len(set(codes))
    assert all(recovery.looks_like_recovery(c) and not totp.looks_like_totp(c) for c in codes)
    c = codes[0]
    assert recovery.hash_code(c) == recovery.hash_code(c.upper().replace("-", " "))
    assert c not in recovery.hash_code(c) and len(recovery.hash_code(c)) == 64


NOW = 1_900_000_000
REQUIRED = MfaPolicy(policy="required", grace_days=7, required_since=NOW - 10 * DAY)


@pytest.mark.parametrize("policy,app_mfa,requested,factors,created,expected", [
    (MfaPolicy(), None, False, [], 0, Need.NONE),
    (MfaPolicy(), None, False, ["totp"], 0, Need.VERIFY),  # off: an enrolled factor is still asked for (contract 7)
    (MfaPolicy(), "required", False, ["totp"], 0, Need.VERIFY),  # the app's override
    (MfaPolicy(), "required", False, [], 0, Need.ENROL),
    (MfaPolicy(), None, True, ["webauthn"], 0, Need.VERIFY),  # the SP asked for REFEDS MFA
    (MfaPolicy(), None, True, [], 0, Need.NO_CONTEXT),
    (MfaPolicy(policy="optional"), None, False, ["totp"], 0, Need.VERIFY),
    (MfaPolicy(policy="optional"), None, False, [], 0, Need.NONE),
    (REQUIRED, None, False, ["totp"], 0, Need.VERIFY),
    (REQUIRED, None, False, [], 0, Need.ENROL),  # required for 10 days, grace 7
    (REQUIRED, None, False, [], NOW - 3 * DAY, Need.NONE),  # created 3 days ago: still in grace
    (MfaPolicy(policy="required", grace_days=7, required_since=NOW - DAY), None, False, [], 0, Need.NONE),
    (MfaPolicy(policy="required", grace_days=0, required_since=NOW), None, False, [], 0, Need.ENROL),
    # a factor of a method the policy no longer counts is still asked for (issue 23 item 5; the gate then asks to enrol)
    (MfaPolicy(policy="required", methods=["webauthn"], required_since=0, grace_days=0), None, False, ["totp"], 0, Need.VERIFY),
    (MfaPolicy(policy="optional", methods=["webauthn"]), None, False, ["totp"], 0, Need.VERIFY),
    (MfaPolicy(policy="off", methods=["totp"]), None, True, ["webauthn"], 0, Need.VERIFY),
])
def test_what_a_sign_in_needs(policy, app_mfa, requested, factors, created, expected):
    assert need(policy, app_mfa=app_mfa, requested_mfa=requested, factor_types=factors, user_created=created, now=NOW) is expected


def test_a_session_with_a_second_factor_passes_the_gate():
    assert satisfied(["pwd", "otp"]) and satisfied(["webauthn"]) and not satisfied(["pwd"])
    assert gate(Need.VERIFY, ["pwd"]) is Need.VERIFY and gate(Need.ENROL, ["pwd", "otp"]) is Need.NONE
    assert gate(Need.VERIFY, ["webauthn"], ["totp"]) is Need.VERIFY  # a method the policy does not count
    assert gate(Need.VERIFY, ["pwd", "otp"], ["totp"]) is Need.NONE


def test_a_held_factor_that_no_longer_counts_is_proven_then_a_counted_one_enrolled():
    """Issue 23 item 5: the user holds only factors of methods the policy turned off."""
    assert gate(Need.VERIFY, ["pwd"], ["webauthn"], holds_counted=False) is Need.VERIFY  # the password alone: the factor
    assert gate(Need.VERIFY, ["pwd", "otp"], ["webauthn"], holds_counted=False) is Need.ENROL  # proven: enrol a passkey
    assert gate(Need.VERIFY, ["pwd", "otp"], ["webauthn"], holds_counted=True) is Need.VERIFY  # holds a passkey: use it
    assert gate(Need.VERIFY, ["pwd", "webauthn"], ["webauthn"], holds_counted=False) is Need.NONE
    assert gate(Need.NONE, ["pwd"], ["webauthn"], holds_counted=False) is Need.NONE


def test_grace_counts_from_when_required_began_and_survives_a_resave():
    since = MfaPolicy().replaced_by(MfaPolicySettings(policy="required", grace_days=3), NOW)
    assert since.required_since == NOW
    again = since.replaced_by(MfaPolicySettings(policy="required", grace_days=5), NOW + DAY)
    assert again.required_since == NOW and again.grace_days == 5
    assert again.replaced_by(MfaPolicySettings(policy="optional"), NOW + 2 * DAY).required_since is None
    assert epoch_of("2030-03-17T17:46:40Z") == NOW and epoch_of(None) == 0


@pytest.mark.parametrize("body", [{"policy": "sometimes"}, {"grace_days": 366}, {"grace_days": -1}, {"methods": []},
                                  {"methods": ["sms"]}, {"methods": ["totp", "totp"]}, {"required_since": 1}])
def test_the_policy_body_is_checked(body):
    with pytest.raises(ValueError):
        MfaPolicySettings(**body)


def test_only_a_request_that_a_password_cannot_meet_asks_for_mfa():
    ppt, mfa = "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport", "https://refeds.org/profile/mfa"
    assert mfa_requested([mfa]) and not mfa_requested([mfa, ppt]) and not mfa_requested([ppt]) and not mfa_requested([])
