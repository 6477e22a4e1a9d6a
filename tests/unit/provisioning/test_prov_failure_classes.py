"""One failure classification: a user's and a group's failed push are recorded alike, per class (on main
3511b39 a group's 401 was logged as `retry` and a user's as `auth_failed`)."""
from __future__ import annotations

import pytest

from idp.provisioning.failures import FailureClass, classify
from idp.scim.protocol import AuthError, Conflict, NotFound, PermanentError, PreconditionFailed, RetryLater

APP = "office"

CASES = [
    (AuthError("401", status=401), FailureClass.AUTH, "auth_failed", None),
    (RetryLater("429", 2.0, status=429), FailureClass.THROTTLED, "retry", "pending"),
    (RetryLater("503", status=503), FailureClass.TRANSIENT, "retry", "pending"),
    (PermanentError("400", status=400), FailureClass.PERMANENT, "failed", "failed"),
]


def test_classify():
    assert classify(NotFound("404", status=404)) is FailureClass.PERMANENT
    assert classify(Conflict("409", status=409)) is FailureClass.PERMANENT
    assert classify(PreconditionFailed("412", status=412)) is FailureClass.TRANSIENT
    assert classify(RecursionError("too deep")) is FailureClass.PERMANENT
    assert [c.retried for c in FailureClass] == [True, True, False, False]


@pytest.mark.parametrize("error,cls,logged,status", CASES, ids=[c[1].value for c in CASES])
def test_a_user_and_a_group_push_fail_alike(engine, state, sp, directory, error, cls, logged, status):
    directory.set_prov(APP, group_management=True)
    uid = directory.add_user()
    gid = directory.add_group("Team")
    directory.members[gid].add(uid)
    directory.bind_group(APP, gid)
    engine.sync_user(APP, uid)  # the user and its group are in the SP
    directory.groups[gid]["name"] = "Renamed"  # the group's next push is a PATCH
    assert classify(error) is cls
    sp.fail(None, None, error, times=None)
    for kind, push in (("USER", lambda: engine.sync_user(APP, uid, force=True)), ("GROUP", lambda: engine.sync_group(APP, gid))):
        with pytest.raises(type(error)):
            push()
        entry = state.read_log(APP, **({"user_id": uid} if kind == "USER" else {"group_id": gid}), limit=1)[0]
        assert entry["outcome"] == logged, (kind, entry)
        item = state.get_map(APP, kind, uid if kind == "USER" else gid) or {}
        if status is None:  # a 401/403 is the app's problem: the item keeps what it said
            assert item.get("status") in (None, "synced", "creating"), (kind, item)
        else:
            assert item.get("status") == status, (kind, item)


@pytest.mark.parametrize("error,result,state_after,counted", [
    (AuthError("GET /Users → 401", status=401), "auth_failed", "auth_failed", False),
    (RetryLater("GET /Users → 429", 2.0, status=429), "retry_later", "ok", False),
    (RetryLater("GET /Users → 503", status=503), "retry_later", "ok", True),
    (PermanentError("GET /Users → 400", status=400), "failed", "ok", False),
], ids=["auth", "throttled", "transient", "permanent"])
def test_the_scheduled_reconcile_records_a_failure_as_the_dispatcher_does(engine, state, sp, directory, bound_user,
                                                                          error, result, state_after, counted):
    """One record of an app's failure (failures.AppOutcomes): on main 3511b39 the scheduled reconcile noted a
    429 and a 503 as permanent failures (and the breaker never heard of them)."""
    from idp.provisioning.reconcile import Reconciler

    bound_user()
    sp.fail("GET", "Users", error, times=None)
    summary = Reconciler(engine).run_scheduled()
    assert summary[APP]["result"] == result, summary
    status = state.app_status(APP)
    assert status.get("state", "ok") == state_after, status
    assert (int(status.get("consecutive_failures") or 0) > 0) is counted, status
