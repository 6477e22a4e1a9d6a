"""One contract, two implementations: every test runs against the in-memory provisioning state of
idp_testing (`fake`) and the DynamoDB adapter under moto (`moto`), so the fake the engine unit
tests use provably behaves like the real conditional writes: create claims, the reconcile lease,
`save_pushed` with a stale claim, member sets, the write buffer, app status and breaker, access
snapshots and the provisioning log."""
import threading

import pytest
from boto3.dynamodb.conditions import Key

from idp.adapters.provisioning.log import LOG_TTL_SECONDS as ADAPTER_LOG_TTL
from idp.adapters.provisioning.stores import dynamo_stores
from idp.provisioning.policy import BreakerSettings
from idp.provisioning.ports import CLAIM_SECONDS, LEASE_SECONDS, ClaimLost
from idp_testing.aws import AtomicTable
from idp_testing.provisioning_state import LOG_TTL_SECONDS, InMemoryProvisioningState, ManualClock, StoresView

APP = "office"
BREAKER = BreakerSettings(threshold=3, base_cooldown=10.0, max_cooldown=25.0, auth_retry=60.0)


@pytest.fixture
def clock():
    return ManualClock()


@pytest.fixture(params=["fake", "moto"])
def state(request, clock):
    if request.param == "fake":
        return InMemoryProvisioningState(clock)
    table = request.getfixturevalue("table")
    return StoresView(dynamo_stores(AtomicTable(table), clock=clock))


def transient(state, message="503"):
    return state.note_transient_failure(APP, message, threshold=BREAKER.threshold, base_cooldown=BREAKER.base_cooldown,
                                        max_cooldown=BREAKER.max_cooldown)


# ---------------------------------------------------------------- create claims
def test_a_claim_has_one_holder_until_released(state):
    token = state.claim_create(APP, "USER", "u1")
    assert token
    item = state.get_map(APP, "USER", "u1")
    assert item["claim_token"] == token and item["status"] == "creating" and item["entity_id"] == "u1"
    assert state.claim_create(APP, "USER", "u1") is None
    state.release_claim(APP, "USER", "u1", "not-the-token")
    assert state.claim_create(APP, "USER", "u1") is None
    state.release_claim(APP, "USER", "u1", token)
    assert "claim_token" not in state.get_map(APP, "USER", "u1")
    assert state.claim_create(APP, "USER", "u1") not in (None, token)


def test_a_claim_lapses_after_its_seconds(state, clock):
    assert state.claim_create(APP, "USER", "u1")
    clock.advance(CLAIM_SECONDS - 1)
    assert state.claim_create(APP, "USER", "u1") is None
    clock.advance(2)
    assert state.claim_create(APP, "USER", "u1")


def test_no_claim_once_the_item_has_a_scim_id(state, clock):
    token = state.claim_create(APP, "GROUP", "g1")
    state.save_pushed(APP, "GROUP", "g1", scim_id="s1", status="synced", claim_token=token)
    clock.advance(CLAIM_SECONDS * 2)
    assert state.claim_create(APP, "GROUP", "g1") is None


def test_forget_unclaimed_spares_a_live_claim_and_a_mapped_item(state, clock):
    token = state.claim_create(APP, "USER", "u1")
    assert state.forget_unclaimed(APP, "USER", "u1") is False  # someone is creating it right now
    clock.advance(CLAIM_SECONDS + 1)
    assert state.forget_unclaimed(APP, "USER", "u1") is True  # the claim lapsed: an abandoned create
    assert state.get_map(APP, "USER", "u1") is None
    token = state.claim_create(APP, "USER", "u2")
    state.release_claim(APP, "USER", "u2", token)  # released after a failure: left 'creating'
    assert state.forget_unclaimed(APP, "USER", "u2") is True and state.get_map(APP, "USER", "u2") is None
    token = state.claim_create(APP, "GROUP", "g1")
    state.save_pushed(APP, "GROUP", "g1", scim_id="s1", status="synced", claim_token=token)
    assert state.forget_unclaimed(APP, "GROUP", "g1") is False and state.get_map(APP, "GROUP", "g1")["scim_id"] == "s1"
    assert state.forget_unclaimed(APP, "USER", "never-seen") is True


def test_save_pushed_with_a_stale_claim_raises_claim_lost(state, clock):
    first = state.claim_create(APP, "USER", "u1")
    clock.advance(CLAIM_SECONDS + 1)
    second = state.claim_create(APP, "USER", "u1")
    with pytest.raises(ClaimLost):
        state.save_pushed(APP, "USER", "u1", scim_id="s-first", status="synced", claim_token=first)
    item = state.get_map(APP, "USER", "u1")
    assert "scim_id" not in item and item["claim_token"] == second
    state.save_pushed(APP, "USER", "u1", scim_id="s-second", status="synced", pushed={"userName": "a"},
                      pushed_hash="h", claim_token=second)
    item = state.get_map(APP, "USER", "u1")
    assert item["scim_id"] == "s-second" and item["pushed"] == {"userName": "a"}
    assert "claim_token" not in item and "claim_until" not in item


def test_save_pushed_with_a_released_claim_raises_claim_lost(state):
    token = state.claim_create(APP, "USER", "u1")
    state.release_claim(APP, "USER", "u1", token)
    with pytest.raises(ClaimLost):
        state.save_pushed(APP, "USER", "u1", scim_id="s1", status="synced", claim_token=token)
    with pytest.raises(ClaimLost):
        state.save_pushed(APP, "USER", "nobody", scim_id="s1", status="synced", claim_token=token)


def test_save_pushed_without_a_claim_upserts_and_clears_the_error(state):
    state.set_status(APP, "USER", "u1", "pending", "boom")
    assert state.get_map(APP, "USER", "u1")["last_error"] == "boom"
    state.save_pushed(APP, "USER", "u1", scim_id="s1", status="synced", etag='W/"1"')
    item = state.get_map(APP, "USER", "u1")
    assert (item["scim_id"], item["status"], item["etag"]) == ("s1", "synced", 'W/"1"') and "last_error" not in item
    state.save_pushed(APP, "USER", "u2", scim_id="s2", status="deactivated")
    assert state.get_map(APP, "USER", "u2")["status"] == "deactivated"


def test_concurrent_claims_have_one_winner(state):
    gate = threading.Barrier(8)
    tokens = []

    def claim():
        gate.wait()
        tokens.append(state.claim_create(APP, "USER", "u1"))

    threads = [threading.Thread(target=claim) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len([t for t in tokens if t]) == 1


# ---------------------------------------------------------------- the reconcile lease
def test_the_lease_has_one_holder_until_released_or_lapsed(state, clock):
    token, until = state.acquire_lease(APP)
    assert until == round(clock() + LEASE_SECONDS, 3)
    assert state.acquire_lease(APP) is None
    state.release_lease(APP, "not-the-token")
    assert state.acquire_lease(APP) is None
    state.release_lease(APP, token)
    second, _ = state.acquire_lease(APP)
    clock.advance(LEASE_SECONDS + 1)
    third = state.acquire_lease(APP)
    assert third is not None and third[0] not in (token, second)


def test_the_lease_blocks_everyone_but_its_holder_while_live(state, clock):
    assert not state.lease_blocks(APP)
    token, _ = state.acquire_lease(APP)
    assert state.lease_blocks(APP) and state.lease_blocks(APP, "other")
    assert not state.lease_blocks(APP, token)
    clock.advance(LEASE_SECONDS + 1)
    assert not state.lease_blocks(APP)


def test_renew_only_with_the_token(state, clock):
    token, until = state.acquire_lease(APP)
    assert state.renew_lease(APP, "other") is None
    clock.advance(100)
    assert state.renew_lease(APP, token) == round(clock() + LEASE_SECONDS, 3) > until
    clock.advance(LEASE_SECONDS + 1)  # lapsed, nobody took it: not renewed (a consumer may be mid-create)
    assert state.renew_lease(APP, token) is None
    other, _ = state.acquire_lease(APP)  # lapsed and taken: gone
    assert state.renew_lease(APP, token) is None
    state.release_lease(APP, token)
    assert state.lease_blocks(APP, token) and not state.lease_blocks(APP, other)


def test_concurrent_lease_acquires_have_one_winner(state):
    gate = threading.Barrier(6)
    got = []

    def acquire():
        gate.wait()
        got.append(state.acquire_lease(APP))

    threads = [threading.Thread(target=acquire) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len([g for g in got if g]) == 1


# ---------------------------------------------------------------- mapping items
def test_members_are_a_string_set(state):
    state.save_pushed(APP, "GROUP", "g1", scim_id="s1", status="synced", display_name="Eng", members={"a", "b"})
    state.update_members(APP, "g1", add={"c"}, remove={"a"})
    assert state.get_map(APP, "GROUP", "g1")["members"] == {"b", "c"}
    state.update_members(APP, "g1", remove={"b", "c"})
    assert "members" not in state.get_map(APP, "GROUP", "g1")
    state.update_members(APP, "g1", add={"d"})
    state.save_pushed(APP, "GROUP", "g1", scim_id="s1", status="synced", members=set())
    item = state.get_map(APP, "GROUP", "g1")
    assert "members" not in item and item["display_name"] == "Eng"
    state.update_members(APP, "g2", add={"x"})  # upserts, as UpdateItem does
    assert state.get_map(APP, "GROUP", "g2")["members"] == {"x"}


def test_a_group_past_one_items_ceiling_keeps_every_member(state, request):
    """15,000 ids of 36 characters are ~540 KB: more than one DynamoDB item holds (400 KB). The
    member set lives in shards under the group's item (idp.adapters.provisioning.member_shards)."""
    members = {f"u-{i:08d}-{'x' * 25}" for i in range(15_000)}
    state.save_pushed(APP, "GROUP", "big", scim_id="s-big", status="synced", display_name="Everyone", members=members)
    assert state.get_map(APP, "GROUP", "big")["members"] == members
    assert state.maps(APP, "GROUP")["big"]["members"] == members
    assert set(state.maps(APP, "GROUP", attributes=("scim_id",))) == {"big"}
    one = next(iter(members))
    state.update_members(APP, "big", add={"u-new"}, remove={one})
    assert state.get_map(APP, "GROUP", "big")["members"] == (members - {one}) | {"u-new"}
    state.put_access_snapshot(APP, "big", members)
    assert state.access_snapshot(APP, "big") == members
    state.save_pushed(APP, "GROUP", "big", scim_id="s-big", status="synced", members={"u-only"})  # replaced, not merged
    assert state.get_map(APP, "GROUP", "big")["members"] == {"u-only"}
    state.forget(APP, "GROUP", "big")
    state.delete_access_snapshot(APP, "big")
    assert state.get_map(APP, "GROUP", "big") is None and state.access_snapshot(APP, "big") is None
    if "moto" in request.node.name:  # nothing of it is left behind
        table = request.getfixturevalue("table")
        left = table.query(KeyConditionExpression=Key("pk").eq(f"APP#{APP}"))["Items"]
        assert [i["sk"] for i in left if "big" in i["sk"]] == []


def test_maps_by_kind_with_a_projection_and_counts(state):
    state.save_pushed(APP, "USER", "u1", scim_id="s1", status="synced", pushed={"a": 1})
    state.save_pushed(APP, "USER", "u2", scim_id="s2", status="deactivated")
    state.set_status(APP, "USER", "u3", "failed", "400")
    state.set_status(APP, "USER", "u4", "pending", "503")
    state.save_pushed(APP, "GROUP", "g1", scim_id="gs1", status="synced")
    state.save_pushed("other", "USER", "u9", scim_id="s9", status="synced")
    assert sorted(state.maps(APP, "USER")) == ["u1", "u2", "u3", "u4"]
    assert state.maps(APP, "USER")["u1"]["pushed"] == {"a": 1}
    projected = state.maps(APP, "USER", attributes=("scim_id",))
    assert projected["u1"] == {"sk": "SCIM#USER#u1", "scim_id": "s1"} and projected["u3"] == {"sk": "SCIM#USER#u3"}
    assert state.counts(APP) == {"users": {"in_sync": 2, "pending": 1, "failed": 1},
                                 "groups": {"in_sync": 1, "pending": 0, "failed": 0}}


def test_forget_one_item_or_every_item_of_the_app(state):
    for eid in ("u1", "u2"):
        state.save_pushed(APP, "USER", eid, scim_id=f"s-{eid}", status="synced")
    state.save_pushed(APP, "GROUP", "g1", scim_id="gs1", status="synced")
    state.save_pushed("other", "USER", "u1", scim_id="keep", status="synced")
    state.put_access_snapshot(APP, "g1", {"u1"})
    state.forget(APP, "USER", "u1")
    state.forget(APP, "USER", "never")
    assert sorted(state.maps(APP, "USER")) == ["u2"]
    state.forget_app(APP)
    assert state.maps(APP, "USER") == {} and state.maps(APP, "GROUP") == {}
    assert state.get_map("other", "USER", "u1")["scim_id"] == "keep"
    assert state.access_snapshot(APP, "g1") == {"u1"}


def test_buffered_creates_and_log_entries_are_held_and_read_back(state):
    with state.buffered():
        assert state.buffering
        state.put_created(APP, "USER", "u1", scim_id="s1", status="synced", pushed={"userName": "a"}, pushed_hash="h")
        state.log(APP, "USER", "u1", action="create", outcome="success")
        assert state.pending() == 2
        assert state.get_map(APP, "USER", "u1")["pushed"] == {"userName": "a"}  # own held write
        assert state.claim_create(APP, "USER", "u1") is None  # written first, so it has a scim_id
        assert state.pending() == 1
    assert not state.buffering and state.pending() == 0
    assert [e["outcome"] for e in state.read_log(APP, user_id="u1")] == ["success"]
    state.put_created(APP, "USER", "u2", scim_id="s2", status="synced")  # not buffering: written at once
    assert state.maps(APP, "USER")["u2"]["scim_id"] == "s2"


def test_buffer_writes_in_batches_of_25(state):
    with state.buffered():
        for i in range(30):
            state.log(APP, "USER", f"u{i}", action="create", outcome="success")
        assert state.pending() == 5
    assert len(state.read_log(APP, limit=100)) == 30


# ---------------------------------------------------------------- app status and breaker
def test_breaker_opens_after_the_threshold_doubles_and_closes(state, clock):
    assert state.app_status(APP)["state"] == "ok"
    assert [transient(state) for _ in range(BREAKER.threshold + 2)] == [0.0, 0.0, 10.0, 20.0, 25.0]
    status = state.app_status(APP)
    assert status["state"] == "failing" and status["consecutive_failures"] == 5 and status["last_error"] == "503"
    assert state.breaker_open_for(status) == 25.0
    clock.advance(30)
    assert state.breaker_open_for(state.app_status(APP)) == 0
    state.note_success(APP)
    status = state.app_status(APP)
    assert status["state"] == "ok" and status["consecutive_failures"] == 0 and "open_until" not in status


def test_auth_failure_halt_and_reset(state, clock):
    state.note_auth_failure(APP, "401 nope", BREAKER.auth_retry)
    status = state.app_status(APP)
    assert status["state"] == "auth_failed" and "PUT /admin/apps/office/provisioning" in status["reason"]
    assert state.breaker_open_for(status) == BREAKER.auth_retry
    assert [transient(state) for _ in range(BREAKER.threshold)] == [0.0] * BREAKER.threshold
    assert state.app_status(APP)["state"] == "auth_failed"
    state.note_permanent_failure(APP, "400 bad")
    assert state.app_status(APP)["last_error"] == "400 bad"
    state.set_halted(APP, "too many")
    assert state.app_status(APP)["state"] == "halted"
    state.reset_app(APP)
    status = state.app_status(APP)
    assert status["state"] == "ok" and "reason" not in status and state.breaker_open_for(status) == 0
    state.note_reconcile(APP, {"users": {"created": 2}, "requests": 3})
    assert state.app_status(APP)["last_reconcile"] == {"users": {"created": 2}, "requests": 3}


# ---------------------------------------------------------------- access snapshots and the log
def test_access_snapshots(state):
    assert state.access_snapshot(APP, "g1") is None
    state.put_access_snapshot(APP, "g1", {"a", "b"})
    assert state.access_snapshot(APP, "g1") == {"a", "b"}
    state.put_access_snapshot(APP, "g1", set())
    assert state.access_snapshot(APP, "g1") == set()
    state.delete_access_snapshot(APP, "g1")
    assert state.access_snapshot(APP, "g1") is None
    assert state.put_access_snapshot(APP, "g1", {"r"}, only_if_absent=True)  # the reconcile's: only where none is
    assert not state.put_access_snapshot(APP, "g1", {"stale"}, only_if_absent=True)
    assert state.access_snapshot(APP, "g1") == {"r"}


def test_log_newest_first_per_entity_and_app_wide_in_pages_until_it_expires(state, clock):
    for i in range(5):
        state.log(APP, "USER", "u1", action="update", outcome="success", request={"n": i}, sp_status=200)
    state.log(APP, "GROUP", "g1", action="create", outcome="failed", sp_status=400, sp_message="bad", detail="x")
    state.log("other", "USER", "u1", action="create", outcome="success")
    mine = state.read_log(APP, user_id="u1")
    assert len(mine) == 5 and {e["request"]["n"] for e in mine} == set(range(5))
    assert [e["at"] for e in mine] == sorted((e["at"] for e in mine), reverse=True)
    assert state.read_log(APP, group_id="g1")[0] | {"at": None} == {
        "kind": "group", "entity_id": "g1", "app": APP, "at": None, "action": "create", "outcome": "failed",
        "sp_status": 400, "sp_message": "bad", "detail": "x"}
    seen, key = [], None
    while True:
        page, key = state.read_log_page(APP, limit=2, start_key=key)
        seen += page
        if key is None:
            break
        assert all(isinstance(v, str) for v in key.values())  # a cursor the admin API can encode
    assert len(seen) == 6 and len({(e["entity_id"], str(e.get("request"))) for e in seen}) == 6
    assert LOG_TTL_SECONDS == ADAPTER_LOG_TTL
    clock.advance(LOG_TTL_SECONDS + 1)
    assert state.read_log(APP) == [] and state.read_log(APP, user_id="u1") == []


# ---------------------------------------------------------------- memberships still to apply
def test_memberships_pending_marks_only_an_existing_user_item(state):
    state.set_memberships_pending(APP, "USER-ghost", True)
    assert state.get_map(APP, "USER", "USER-ghost") is None  # a forgotten user is not brought back
    state.save_pushed(APP, "USER", "u1", scim_id="s1", status="synced", pushed_hash="h")
    state.set_memberships_pending(APP, "u1", True)
    assert state.get_map(APP, "USER", "u1")["memberships_pending"] is True
    state.save_pushed(APP, "USER", "u1", scim_id="s1", status="synced", pushed_hash="h2")
    assert state.get_map(APP, "USER", "u1")["memberships_pending"] is True  # an update keeps the mark
    state.set_memberships_pending(APP, "u1", False)
    assert "memberships_pending" not in state.get_map(APP, "USER", "u1")


def test_log_entries_of_one_millisecond_keep_their_order(state):
    for i in range(30):  # far more than one millisecond holds on the fake; many share one on moto
        state.log(APP, "USER", "u-order", action=f"step{i}", outcome="success")
    entries = state.read_log(APP, user_id="u-order", limit=30)
    assert [e["action"] for e in entries] == [f"step{i}" for i in reversed(range(30))]


# ---------------------------------------------------------------- the breaker's window
def test_failures_among_more_successes_do_not_open_the_breaker(state, clock):
    """Several consumers push at once: a failure rate under half, however long the run, keeps it closed."""
    for _ in range(4):
        state.note_success(APP)
    for _ in range(BREAKER.threshold):
        assert transient(state) == 0.0  # 3 failures against 4 successes in the window
    assert state.app_status(APP).get("state", "ok") == "ok"
    assert transient(state) == BREAKER.base_cooldown  # 4 against 4: half the answers failed
    status = state.app_status(APP)
    assert status["state"] == "failing" and "4 transient failures against 4 successes" in status["reason"]


def test_the_window_restarts_the_count_but_not_while_open(state, clock):
    for _ in range(BREAKER.threshold - 1):
        transient(state)
    clock.advance(BREAKER.window + 1)
    assert transient(state) == 0.0 and state.app_status(APP)["consecutive_failures"] == 1  # a fresh window
    for _ in range(BREAKER.threshold - 1):
        transient(state)
    assert state.breaker_open_for(state.app_status(APP)) == BREAKER.base_cooldown
    clock.advance(BREAKER.window + 1)  # open past the window: the count goes on, so the cooldown doubles
    assert transient(state) == 2 * BREAKER.base_cooldown
    state.note_success(APP)  # the SP answered: closed, counts gone
    status = state.app_status(APP)
    assert status["state"] == "ok" and status["consecutive_failures"] == 0 and "open_until" not in status
