"""The parts of a parallel reconcile on their own (`idp.provisioning.parallel`), no sockets: `for_each` (order,
bound, the first failure stops the rest), `Pace` (a 429 pauses every worker, within the in-invocation budget),
the per-app setting, and a reconcile over the in-memory SP whose workers share one run."""
import threading
import time

import pytest

from idp.provisioning.parallel import Pace, SyncStopped, for_each, pacing
from idp.provisioning.planner import DEFAULT_MAX_CONCURRENCY, ProvisioningConfig
from idp.provisioning.reconcile import Reconciler
from idp.provisioning.retry_budget import RetryBudget
from idp.scim.protocol import RetryLater

APP = "office"


def test_for_each_keeps_the_order_and_the_bound():
    lock, inside, peak = threading.Lock(), [0], [0]

    def work(n: int) -> int:
        with lock:
            inside[0] += 1
            peak[0] = max(peak[0], inside[0])
        time.sleep(0.01)
        with lock:
            inside[0] -= 1
        return n * n

    assert for_each(list(range(40)), work, concurrency=5, pace=Pace(APP)) == [n * n for n in range(40)]
    assert 1 < peak[0] <= 5


def test_for_each_with_one_worker_runs_in_this_thread_in_order():
    seen: list[tuple[int, str]] = []
    for_each([1, 2, 3], lambda n: seen.append((n, threading.current_thread().name)), concurrency=1, pace=Pace(APP))
    assert seen == [(n, threading.current_thread().name) for n in (1, 2, 3)]


def test_the_first_failure_stops_the_others_and_is_raised():
    started: list[int] = []
    boom = RetryLater("503 from the SP", status=503)

    def work(n: int) -> int:
        started.append(n)
        if n == 3:
            raise boom
        time.sleep(0.02)
        return n

    with pytest.raises(RetryLater) as caught:
        for_each(list(range(100)), work, concurrency=4, pace=Pace(APP))
    assert caught.value is boom
    assert len(started) < 12  # the ones in hand finished; no new item was taken


def test_a_stopped_pace_sends_nothing_more():
    pace = Pace(APP)
    pace.turn()
    pace.stop(RetryLater("timeout", 3.0))
    with pytest.raises(SyncStopped) as caught:
        pace.turn()
    assert caught.value.delay_seconds == 3.0 and "timeout" in str(caught.value)


def test_a_429_pauses_every_worker_within_the_budget():
    budget = RetryBudget()
    budget.set_deadline(60.0)  # a Lambda with a minute left
    pace = Pace(APP)
    with pacing(pace):
        t0 = time.monotonic()
        assert budget.wait(0.3, 1) is True  # the worker that met the 429 waits ...
        assert time.monotonic() - t0 >= 0.29
    assert pace.pauses == 1
    # ... and a worker that comes for its turn during the pause waits for its end too
    pace.paused_until = time.monotonic() + 0.2
    t0 = time.monotonic()
    pace.turn()
    assert time.monotonic() - t0 >= 0.19
    with pacing(pace):
        assert budget.wait(30.0, 1) is False  # too long to wait inline: the 429 ends the run, as before
    assert pace.paused_until < time.monotonic() + 1


def test_without_a_lambda_deadline_a_429_is_never_waited_out():
    with pacing(Pace(APP)):
        assert RetryBudget().wait(0.1, 1) is False


def test_the_setting_defaults_and_bounds():
    def cfg(**prov):
        return ProvisioningConfig.from_app({"slug": APP, "provisioning": {"base_url": "https://sp.example.com", **prov}})

    assert cfg().max_concurrency == DEFAULT_MAX_CONCURRENCY == 16
    assert cfg(max_concurrency=4).max_concurrency == 4
    assert cfg(max_concurrency=500).max_concurrency == 32 and cfg(max_concurrency=0).max_concurrency == 1
    assert cfg(max_concurrency="x").max_concurrency == 16


def test_reconcile_over_the_in_memory_sp_counts_each_request_once(engine, directory, sp, bound_user):
    directory.set_prov(APP, max_concurrency=8)
    users = [bound_user() for _ in range(60)]
    lock, inside, peak = threading.Lock(), [0], [0]

    def slow(method, path, params, body):
        with lock:
            inside[0] += 1
            peak[0] = max(peak[0], inside[0])
        time.sleep(0.005)
        with lock:
            inside[0] -= 1

    sp.intercept(slow, times=None)
    summary = Reconciler(engine).reconcile_app(APP)
    assert summary["users"] == {"created": 60} and summary["failed"] == []
    assert summary["requests"] == len(sp.requests) == 61  # the listing and one POST each
    assert 1 < peak[0] <= 8
    assert {u["externalId"] for u in sp.list("Users")} == set(users)


def test_a_user_the_sp_refuses_is_that_users_failure_only(engine, directory, sp, bound_user):
    from idp.scim.protocol import PermanentError

    users = [bound_user() for _ in range(20)]
    sp.fail("POST", "Users", PermanentError("POST /Users → 400: bad name", status=400))
    summary = Reconciler(engine).reconcile_app(APP)
    assert len(summary["failed"]) == 1 and summary["users"] == {"created": 19}
    assert len(sp.list("Users")) == 19 and summary["failed"][0]["user_id"] in users


def test_the_paced_client_waits_before_each_request(engine, directory, sp, bound_user, monkeypatch):
    bound_user()
    turns: list[str] = []
    original = Pace.turn

    def counted(self):
        turns.append(self.slug)
        original(self)

    monkeypatch.setattr(Pace, "turn", counted)
    Reconciler(engine).reconcile_app(APP)
    assert turns == [APP, APP] and len(sp.requests) == 2  # the listing and the POST, each after its turn
