"""The sign-in diagnosis decided from its facts (idp.kernel.diagnosis), and the audit ids' order."""
from __future__ import annotations

from idp.kernel.audit_log import event_id, id_boundary, id_ms
from idp.kernel.diagnosis import SignInFacts, provisioning_view, reasons

OK = SignInFacts(user_state="ACTIVE", direct=True, acs_urls=("https://sp/acs",))


def test_a_bound_active_user_can_sign_in():
    assert reasons(OK) == []
    assert reasons(SignInFacts(user_state="ACTIVE", direct=False, groups=("g-1",), acs_urls=("https://sp/acs",))) == []


def test_every_reason_is_given_at_once():
    facts = SignInFacts(user_state="SUSPENDED", direct=False, locked_for=30, mfa_need="enrol", acs_urls=(),
                        signs_requests=True, last_app_sso_reason="bad_signature")
    assert reasons(facts) == ["not_bound", "suspended", "locked_out", "mfa_not_enrolled", "no_acs_url",
                              "signed_requests_failing"]


def test_a_factor_to_verify_is_not_a_reason_nor_an_unsigned_app_failing_signatures():
    assert reasons(SignInFacts(**{**OK.__dict__, "mfa_need": "verify"})) == []
    assert reasons(SignInFacts(**{**OK.__dict__, "last_app_sso_reason": "bad_signature"})) == []
    assert reasons(SignInFacts(**{**OK.__dict__, "signs_requests": True, "last_app_sso_reason": "not_bound"})) == []


def test_provisioning_view():
    assert provisioning_view(None, False, None) == {"state": "not_configured", "last": None}
    assert provisioning_view(None, True, None) == {"state": "not_provisioned", "last": None}
    mapped = provisioning_view({"status": "synced", "scim_id": "sp-1", "pushed": {"active": True}}, True, {"action": "create"})
    assert mapped == {"state": "synced", "scim_id": "sp-1", "active": True, "last": {"action": "create"}}
    assert provisioning_view({"status": "deactivated", "scim_id": "sp-1"}, True, None)["active"] is False


def test_event_ids_sort_newest_first_and_carry_their_time():
    older, newer = event_id(1_000_000), event_id(2_000_000)
    assert newer < older and id_ms(newer) == 2_000_000 and id_boundary(2_000_000) < newer < id_boundary(2_000_000) + "~"
    assert len({event_id(5) for _ in range(1000)}) == 1000
