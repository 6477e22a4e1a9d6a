"""The per-app circuit breaker and the auth retry, through the dispatcher with `policy.BreakerSettings`
on the in-memory state: it opens after N transient failures in a row, pauses the app without a
request while open, doubles its cooldown while the SP keeps failing, closes after a success; a
429 or a busy create does not count; a 401/403 parks the app for `auth_retry` and the token is read
afresh; a permanent error is recorded without opening it."""
import pytest

from idp.provisioning.dispatch import BreakerOpen, Dispatcher, EventFailed
from idp.provisioning.policy import BreakerSettings, breaker_cooldown
from idp.scim.protocol import PermanentError, RetryLater

APP = "office"
BREAKER = BreakerSettings(threshold=3, base_cooldown=30.0, max_cooldown=100.0, auth_retry=45.0)


@pytest.fixture
def dispatcher(engine):
    return Dispatcher(engine, breaker=BREAKER)


def created(uid):
    return {"type": "user.created", "id": uid}


def failing(dispatcher, uid) -> EventFailed:
    with pytest.raises(EventFailed) as err:
        dispatcher.apply(created(uid))
    return err.value


def test_cooldown_policy():
    assert [BREAKER.cooldown_after(n) for n in range(1, 7)] == [0.0, 0.0, 30.0, 60.0, 100.0, 100.0]
    assert breaker_cooldown(5, threshold=5, base_cooldown=0.0, max_cooldown=10.0) == 0.0


def test_breaker_opens_after_threshold_failures_and_closes_after_a_success(dispatcher, sp, state, clock, bound_user):
    uid = bound_user()
    sp.fail("POST", "Users", RetryLater("POST /Users → 503: down", status=503), times=None)
    for n in range(1, BREAKER.threshold + 1):
        failing(dispatcher, uid)
        assert state.app_status(APP)["consecutive_failures"] == n
    status = state.app_status(APP)
    assert status["state"] == "failing" and "3 transient failures in a row" in status["reason"]
    assert state.breaker_open_for(status) == BREAKER.base_cooldown

    sp.reset_counts()
    err = failing(dispatcher, uid)  # open: no request at all
    assert isinstance(err.errors[0][1], BreakerOpen) and err.retry_after() == BREAKER.base_cooldown
    assert sp.requests == []

    clock.advance(BREAKER.base_cooldown + 1)  # half-open: one more try, which fails: the cooldown doubles
    failing(dispatcher, uid)
    assert state.breaker_open_for(state.app_status(APP)) == 2 * BREAKER.base_cooldown

    sp.intercepts.clear()  # the SP recovers
    clock.advance(2 * BREAKER.base_cooldown + 1)
    assert [o.outcome for o in dispatcher.apply(created(uid))] == ["created"]
    status = state.app_status(APP)
    assert status["state"] == "ok" and status["consecutive_failures"] == 0 and "open_until" not in status


def test_throttling_does_not_count_towards_the_breaker(dispatcher, sp, state, bound_user):
    uid = bound_user()
    sp.fail("POST", "Users", RetryLater("POST /Users → 429: slow down", 30.0, status=429), times=None)
    for _ in range(BREAKER.threshold + 1):
        assert failing(dispatcher, uid).retry_after() == 30.0
    assert state.app_status(APP).get("consecutive_failures", 0) == 0


def test_auth_failure_parks_the_app_and_the_fixed_token_is_read_afresh(dispatcher, sp, state, clock, tokens, bound_user):
    uid = bound_user()
    tokens.tokens[APP] = "wrong"
    err = failing(dispatcher, uid)
    assert err.auth and err.transient
    status = state.app_status(APP)
    assert status["state"] == "auth_failed" and "refused the SCIM credentials" in status["reason"]
    assert state.breaker_open_for(status) == BREAKER.auth_retry

    tokens.tokens[APP] = "secret"  # fixed; the app waits out auth_retry, then reads the token afresh
    assert isinstance(failing(dispatcher, uid).errors[0][1], BreakerOpen)
    clock.advance(BREAKER.auth_retry + 1)
    reads = tokens.fresh_reads
    assert [o.outcome for o in dispatcher.apply(created(uid))] == ["created"]
    assert tokens.fresh_reads == reads + 1
    assert state.app_status(APP)["state"] == "ok"


def test_transient_failures_while_auth_failed_keep_the_auth_state(dispatcher, state, clock, sp, bound_user):
    state.note_auth_failure(APP, "401", BREAKER.auth_retry)
    for _ in range(BREAKER.threshold):
        state.note_transient_failure(APP, "503", threshold=BREAKER.threshold, base_cooldown=BREAKER.base_cooldown,
                                     max_cooldown=BREAKER.max_cooldown)
    assert state.app_status(APP)["state"] == "auth_failed"


def test_permanent_error_is_recorded_without_opening_the_breaker(dispatcher, sp, state, bound_user):
    uid = bound_user()
    sp.fail("POST", "Users", PermanentError("POST /Users → 400: bad title", status=400), times=None)
    for _ in range(BREAKER.threshold + 1):
        assert not failing(dispatcher, uid).transient
    status = state.app_status(APP)
    assert "bad title" in status["last_error"] and state.breaker_open_for(status) == 0
    assert state.get_map(APP, "USER", uid)["status"] == "failed"


def test_app_sync_gives_a_failing_app_a_fresh_chance(engine, sp, state, clock, bound_user):
    from idp.provisioning.reconcile import Reconciler

    uid = bound_user()
    for _ in range(BREAKER.threshold):
        state.note_transient_failure(APP, "503", threshold=BREAKER.threshold, base_cooldown=BREAKER.base_cooldown,
                                     max_cooldown=BREAKER.max_cooldown)
    assert state.breaker_open_for(state.app_status(APP)) > 0
    dispatcher = Dispatcher(engine, Reconciler(engine, BREAKER), BREAKER)
    assert dispatcher.apply({"type": "app.sync", "id": APP, "app": APP})[0].outcome == "reconciled"
    assert state.app_status(APP)["state"] == "ok" and sp.user_by_name(f"{uid}@example.com")
