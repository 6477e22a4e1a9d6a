"""Create claims and the reconcile lease as the engine uses them, on the in-memory state: a live claim
of another worker means Busy (the message comes back), a claim finished meanwhile means update,
a claim lost mid-create means retry and adopt; the lease blocks consumer creates, is renewed when
low and released at the end, and a lost lease sends the run back to claims."""
import pytest

from idp.provisioning.claims import CLAIM_POLL_SECONDS, CLAIM_WAIT_SECONDS, Busy
from idp.provisioning.dispatch import Dispatcher, EventFailed
from idp.provisioning.lease import LEASE_RENEW_BELOW
from idp.provisioning.ports import CLAIM_SECONDS, LEASE_SECONDS, ClaimLost
from idp.provisioning.reconcile import Reconciler
from idp_testing.provisioning_state import InMemoryProvisioningState

APP = "office"


class Recording(InMemoryProvisioningState):
    """Counts the claims taken and the lease renewals."""

    def __init__(self, clock):
        super().__init__(clock)
        self.claimed: list[tuple[str, str]] = []
        self.renewed: list[float | None] = []

    def claim_create(self, slug, kind, eid, seconds=CLAIM_SECONDS):
        self.claimed.append((kind, eid))
        return super().claim_create(slug, kind, eid, seconds)

    def renew_lease(self, slug, token, seconds=LEASE_SECONDS):
        got = super().renew_lease(slug, token, seconds)
        self.renewed.append(got)
        return got


@pytest.fixture
def state(clock):
    return Recording(clock)


# ---------------------------------------------------------------- claims
def test_busy_while_another_worker_holds_a_live_claim(engine, sp, state, slept, bound_user):
    uid = bound_user()
    other = state.claim_create(APP, "USER", uid)
    with pytest.raises(Busy) as err:
        engine.sync_user(APP, uid)
    assert err.value.delay_seconds == 2.0
    assert slept == [CLAIM_POLL_SECONDS] * int(CLAIM_WAIT_SECONDS / CLAIM_POLL_SECONDS)
    assert "POST Users" not in sp.counts()
    assert state.get_map(APP, "USER", uid)["claim_token"] == other  # untouched


def test_busy_comes_back_without_counting_against_the_breaker(engine, state, bound_user):
    uid = bound_user()
    state.claim_create(APP, "USER", uid)
    with pytest.raises(EventFailed) as err:
        Dispatcher(engine).apply({"type": "user.created", "id": uid})
    assert err.value.transient and err.value.retry_after() == 2.0
    assert state.app_status(APP).get("consecutive_failures", 0) == 0


def test_a_create_finished_meanwhile_turns_into_an_update(engine, sp, state, directory, bound_user):
    uid = bound_user()
    other = state.claim_create(APP, "USER", uid)
    theirs = sp.create("Users", {"userName": f"{uid}@example.com"})

    def the_other_worker_finishes(seconds):
        state.save_pushed(APP, "USER", uid, scim_id=theirs["id"], status="synced", pushed={"userName": "x"},
                          pushed_hash="stale", claim_token=other)

    engine.budget.sleep = engine.claims.sleep = the_other_worker_finishes
    out = engine.sync_user(APP, uid)
    assert out.outcome == "updated"  # its pushed state differs from ours: one PATCH, no POST
    assert sp.counts() == {"PATCH Users": 1}
    assert len(sp.list("Users")) == 1


def test_a_lapsed_claim_is_taken_over(engine, sp, state, clock, bound_user):
    uid = bound_user()
    state.claim_create(APP, "USER", uid)  # its holder crashed
    clock.advance(CLAIM_SECONDS + 1)
    assert engine.sync_user(APP, uid).outcome == "created"


def test_a_claim_lost_during_the_create_is_retried_and_adopts(engine, sp, state, clock, bound_user):
    uid = bound_user()

    def slow_post(method, path, params, body):  # the POST outlives the claim, and another worker claims
        clock.advance(CLAIM_SECONDS + 1)
        state.claim_create(APP, "USER", uid)

    sp.intercept(slow_post, "POST", "Users")
    with pytest.raises(ClaimLost):
        engine.sync_user(APP, uid)
    assert len(sp.list("Users")) == 1 and "scim_id" not in state.get_map(APP, "USER", uid)
    clock.advance(CLAIM_SECONDS + 1)
    assert engine.sync_user(APP, uid).outcome == "adopted"
    assert len(sp.list("Users")) == 1


# ---------------------------------------------------------------- the reconcile lease
def test_the_lease_blocks_consumer_creates_until_released(engine, sp, state, bound_user):
    uid = bound_user()
    token, _ = state.acquire_lease(APP)
    with pytest.raises(Busy, match="reconcile"):
        engine.sync_user(APP, uid)
    assert "POST Users" not in sp.counts()
    assert "claim_token" not in state.get_map(APP, "USER", uid)  # its claim was given back
    state.release_lease(APP, token)
    assert engine.sync_user(APP, uid).outcome == "created"


def test_reconcile_creates_under_one_lease_renews_it_when_low_and_releases_it(engine, sp, state, clock, bound_user):
    users = [bound_user() for _ in range(4)]
    sp.intercept(lambda *a: clock.advance(40), "POST", "Users", times=None)  # each create takes 40 s
    summary = Reconciler(engine).reconcile_app(APP)
    assert summary["users"] == {"created": 4}
    assert state.claimed == []  # no claim per user under the lease
    # 180 s lease, renewed once less than 120 s are left: before the third user (80 s used)
    assert len(state.renewed) == 1 and state.renewed[0] is not None
    assert not state.lease_blocks(APP)  # released
    assert all(state.get_map(APP, "USER", u)["scim_id"] for u in users)


def test_reconcile_that_loses_its_lease_goes_back_to_claims(engine, sp, state, clock, bound_user):
    a, b = bound_user(), bound_user()

    def lease_lapses(method, path, params, body):
        clock.advance(LEASE_SECONDS + 1)
        assert state.acquire_lease(APP) is not None  # another reconcile takes it

    sp.intercept(lease_lapses, "POST", "Users")
    with pytest.raises(Busy):
        Reconciler(engine).reconcile_app(APP)
    assert state.renewed == [None]
    assert state.get_map(APP, "USER", a)["scim_id"]  # written before the renewal was tried
    assert state.claimed == [("USER", b)] and sp.user_by_name(f"{b}@example.com") is None
    assert state.lease_blocks(APP)  # the other run's lease is untouched


def test_reconcile_while_another_holds_the_lease_claims_each_create(engine, sp, state, bound_user):
    uid = bound_user()
    state.acquire_lease(APP)
    with pytest.raises(Busy):
        Reconciler(engine).reconcile_app(APP)
    assert state.claimed == [("USER", uid)] and "POST Users" not in sp.counts()


def test_lease_fresh_only_with_enough_time_left(engine, state, clock):
    run = engine.open_run(APP)
    assert engine.take_lease(run) and engine.lease_fresh(run)
    assert not engine.take_lease(engine.open_run(APP))  # one holder
    clock.advance(LEASE_SECONDS - LEASE_RENEW_BELOW + 1)
    assert not engine.lease_fresh(run)
    engine.keep_lease(run)
    assert engine.lease_fresh(run) and state.renewed[-1] == run.lease_until
    engine.drop_lease(run)
    assert run.lease is None and not state.lease_blocks(APP)
