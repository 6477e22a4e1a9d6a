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


def test_import_classification_of_candidates_and_links():
    from idp.provisioning.import_report import classify

    desired = {"u-a": {"userName": "a@x.com"}, "u-b": {"userName": "b@x.com"}, "u-c": {"userName": "c@x.com"}}
    sp = [{"id": "1", "userName": "A@X.com"}, {"id": "2", "userName": "a@x.com"}, {"id": "3", "userName": "b@x.com"},
          {"id": "4", "userName": "nobody@x.com"}, {"id": "5", "userName": "other@x.com"}]
    report = classify(sp, desired, linked={"u-c": "5"}, bound={"u-a", "u-b", "u-c", "u-d"})
    rows = {r["sp_id"]: r for r in report.items}
    assert rows["1"]["status"] == rows["2"]["status"] == "conflict" and rows["1"]["reason"] == "several_sp_users"
    assert rows["3"]["status"] == "matched" and rows["3"]["user_id"] == "u-b"
    assert rows["4"]["status"] == "unmatched"
    assert rows["5"] == {"sp_id": "5", "userName": "other@x.com", "status": "matched", "user_id": "u-c", "reason": "already_linked"}
    assert report.to_create == ["u-d"]
    twins = classify([{"id": "9", "emails": [{"value": "same@x.com"}]}],
                     {"u-1": {'emails[type eq "work"].value': "same@x.com"}, "u-2": {'emails[type eq "work"].value': "SAME@x.com"}},
                     linked={}, bound=set(), attribute="emails")
    assert twins.items[0]["status"] == "conflict" and twins.items[0]["reason"] == "several_candidates"
