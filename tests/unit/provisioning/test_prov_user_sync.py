"""User sync decisions on the in-memory state and SP: match before create, 409 → adopt, 404 → re-match
then create, deactivate on unbind, delete per policy, and what a failure leaves in the state."""
import pytest

from idp.provisioning.retry_budget import INLINE_RETRY_MARGIN
from idp.scim.protocol import USER_SCHEMA, AuthError, Conflict, PermanentError, RetryLater

APP = "office"


def user_payload(name, **extra):
    return {"schemas": [USER_SCHEMA], "userName": name, **extra}


def test_match_first_then_create_then_nothing_to_do(engine, sp, state, bound_user):
    uid = bound_user(title="Engineer")
    out = engine.sync_user(APP, uid)
    assert (out.outcome, out.requests) == ("created", 2)
    assert sp.counts() == {"GET Users": 1, "POST Users": 1}
    assert sp.requests[0][2]["filter"] == f'userName eq "{uid}@example.com"'
    m = state.get_map(APP, "USER", uid)
    assert m["status"] == "synced" and m["scim_id"] == sp.user_by_name(f"{uid}@example.com")["id"]
    assert "claim_token" not in m  # the create claim went with the save
    assert [e["action"] for e in state.read_log(APP, user_id=uid)] == ["create"]

    sp.reset_counts()
    assert engine.sync_user(APP, uid).outcome == "no_change"
    assert sp.requests == []


def test_409_on_create_looks_up_and_adopts(engine, sp, state, bound_user):
    uid = bound_user(title="Boss")

    def appears_meanwhile(method, path, params, body):  # someone creates it between our match and our POST
        sp.create("Users", user_payload(f"{uid}@example.com", title="Old"))

    sp.intercept(appears_meanwhile, "POST", "Users")
    out = engine.sync_user(APP, uid)
    assert out.outcome == "adopted"
    assert sp.counts() == {"GET Users": 2, "POST Users": 1, "PATCH Users": 1}
    users = sp.list("Users")
    assert len(users) == 1 and users[0]["title"] == "Boss" and users[0]["externalId"] == uid
    assert state.get_map(APP, "USER", uid)["scim_id"] == users[0]["id"]
    # newest first: the adoption, its PATCH, the 409
    assert [(e["action"], e["outcome"]) for e in state.read_log(APP, user_id=uid)] == [
        ("adopt", "success"), ("adopt", "success"), ("create", "conflict")]


def test_409_that_matches_nobody_is_permanent_and_releases_the_claim(engine, sp, state, bound_user):
    uid = bound_user()
    sp.fail("POST", "Users", Conflict("POST /Users → 409: exists", status=409))
    with pytest.raises(PermanentError, match="no user matches"):
        engine.sync_user(APP, uid)
    m = state.get_map(APP, "USER", uid)
    assert m["status"] == "failed" and "claim_token" not in m
    # GET userName, POST, GET userName again, GET externalId
    assert sp.counts() == {"GET Users": 3, "POST Users": 1}


def test_404_on_update_rematches_then_creates(engine, sp, state, directory, bound_user):
    uid = bound_user(title="A")
    engine.sync_user(APP, uid)
    old = state.get_map(APP, "USER", uid)["scim_id"]
    sp.delete("Users", old)  # deleted by hand in the SP
    sp.reset_counts()

    directory.update_user(uid, title="B")
    assert engine.sync_user(APP, uid).outcome == "created"
    assert sp.counts() == {"PATCH Users": 1, "GET Users": 1, "POST Users": 1}
    new = state.get_map(APP, "USER", uid)["scim_id"]
    assert new != old and sp.get("Users", new)["title"] == "B"
    assert [e["outcome"] for e in state.read_log(APP, user_id=uid)][:2] == ["success", "not_found"]


def test_404_on_update_adopts_the_user_recreated_by_hand(engine, sp, state, directory, bound_user):
    uid = bound_user(title="A")
    engine.sync_user(APP, uid)
    sp.delete("Users", state.get_map(APP, "USER", uid)["scim_id"])
    again = sp.create("Users", user_payload(f"{uid}@example.com", title="A"))
    sp.reset_counts()

    directory.update_user(uid, title="B")
    assert engine.sync_user(APP, uid).outcome == "adopted"
    assert sp.counts() == {"PATCH Users": 2, "GET Users": 1}  # the 404, the match, the adopting PATCH
    assert state.get_map(APP, "USER", uid)["scim_id"] == again["id"]
    assert sp.get("Users", again["id"])["title"] == "B"


def test_unbind_deactivates_and_rebind_reactivates(engine, sp, state, directory, bound_user):
    uid = bound_user()
    engine.sync_user(APP, uid)
    sp.reset_counts()

    directory.unbind_user(APP, uid)
    assert engine.sync_user(APP, uid).outcome == "deactivated"
    assert sp.requests[0][3]["Operations"] == [{"op": "replace", "path": "active", "value": False}]
    assert sp.user_by_name(f"{uid}@example.com")["active"] is False
    assert state.get_map(APP, "USER", uid)["status"] == "deactivated"
    assert engine.sync_user(APP, uid).outcome == "no_change"

    directory.bind_user(APP, uid)
    assert engine.sync_user(APP, uid).outcome == "reactivated"
    assert sp.user_by_name(f"{uid}@example.com")["active"] is True


def test_never_bound_or_suspended_users_are_not_created(engine, sp, directory, bound_user):
    a = directory.add_user()
    b = bound_user(state="SUSPENDED")
    assert engine.sync_user(APP, a).outcome == "no_change"
    assert engine.sync_user(APP, b).outcome == "no_change"
    assert sp.requests == []


def test_directory_delete_deactivates_or_deletes_per_policy(engine, sp, state, directory, bound_user):
    keep, gone = bound_user(), bound_user()
    for uid in (keep, gone):
        engine.sync_user(APP, uid)
    directory.delete_user(keep)
    assert engine.sync_user(APP, keep).outcome == "deactivated"
    directory.set_prov(APP, deprovision="delete")
    directory.delete_user(gone)
    assert engine.sync_user(APP, gone).outcome == "deleted"
    assert sp.user_by_name(f"{gone}@example.com") is None
    assert state.get_map(APP, "USER", gone) is None


def test_transient_failure_leaves_the_user_pending_without_a_claim(engine, sp, state, bound_user):
    uid = bound_user()
    sp.fail("POST", "Users", RetryLater("POST /Users → 503: busy", status=503))
    with pytest.raises(RetryLater):
        engine.sync_user(APP, uid)
    m = state.get_map(APP, "USER", uid)
    assert m["status"] == "pending" and "claim_token" not in m and "scim_id" not in m
    assert state.read_log(APP, user_id=uid)[0]["outcome"] == "retry"
    assert engine.sync_user(APP, uid).outcome == "created"


def test_auth_error_is_logged_and_leaves_the_item_alone(engine, sp, state, tokens, bound_user):
    uid = bound_user()
    tokens.tokens[APP] = "wrong"
    with pytest.raises(AuthError):
        engine.sync_user(APP, uid)
    assert state.read_log(APP, user_id=uid)[0]["outcome"] == "auth_failed"
    m = state.get_map(APP, "USER", uid)  # the claim taken before the match is given back
    assert "claim_token" not in m and "scim_id" not in m


def test_short_retry_after_is_waited_out_inside_the_invocation(engine, sp, slept, bound_user):
    uid = bound_user()
    sp.fail("POST", "Users", RetryLater("POST /Users → 429: slow down", 1.0, status=429))
    engine.set_deadline(60)
    assert engine.sync_user(APP, uid).outcome == "created"
    assert slept == [1.0]
    assert sp.counts()["POST Users"] == 2 and len(sp.list("Users")) == 1


@pytest.mark.parametrize("deadline, retry_after", [(None, 1.0), (600, 5.0), (INLINE_RETRY_MARGIN + 0.5, 1.0)])
def test_retry_after_goes_back_to_the_queue_when_it_does_not_fit(engine, sp, state, slept, bound_user, deadline, retry_after):
    uid = bound_user()
    now = [100.0]
    engine.budget.clock = lambda: now[0]
    engine.set_deadline(deadline)
    sp.fail("POST", "Users", RetryLater("POST /Users → 429: slow down", retry_after, status=429))
    with pytest.raises(RetryLater) as err:
        engine.sync_user(APP, uid)
    assert err.value.delay_seconds == retry_after and slept == []
    assert state.get_map(APP, "USER", uid)["status"] == "pending"


def test_an_abandoned_create_is_forgotten_once_the_user_is_unbound(engine, state, tokens, directory, bound_user):
    uid = bound_user()
    tokens.tokens[APP] = "wrong"
    with pytest.raises(AuthError):
        engine.sync_user(APP, uid)
    tokens.tokens[APP] = "secret"
    engine.credentials_failed(APP)
    directory.unbind_user(APP, uid)
    assert engine.sync_user(APP, uid).outcome == "no_change"
    assert state.get_map(APP, "USER", uid) is None
    assert state.counts(APP)["users"]["pending"] == 0
