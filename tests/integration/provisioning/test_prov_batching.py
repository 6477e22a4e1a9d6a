"""Fewer DynamoDB round trips without losing anything: buffered state and log writes, the reconcile
lease instead of a create claim per user (and what keeps a consumer from creating a user a
reconcile is creating), and short Retry-After values waited out inside the invocation."""
import dataclasses
import json
import threading

import boto3
import pytest

from idp.adapters.event_queue import SqsEventQueue
from idp.adapters.provisioning.claims import DynamoClaims
from idp.adapters.provisioning.stores import dynamo_stores
from idp.adapters.scim_client import ScimClient
from idp.provisioning.claims import Busy
from idp.provisioning.consumer import Consumer
from idp.provisioning.dispatch import Dispatcher
from idp.provisioning.engine import Engine
from idp.provisioning.policy import BreakerSettings
from idp.provisioning.ports import CLAIM_SECONDS
from idp.provisioning.reconcile import Reconciler
from idp.provisioning.retry_budget import INLINE_RETRY_MARGIN
from idp.scim.protocol import RetryLater
from idp_testing.aws import AtomicTable, create_queues, drain, publish
from idp_testing.provisioning_state import StoresView, stores_of

APP = "office"


class Context:
    """The part of Lambda's context the consumer reads."""

    def __init__(self, remaining_s: float):
        self.remaining_s = remaining_s

    def get_remaining_time_in_millis(self) -> int:
        return int(self.remaining_s * 1000)


class CountingClaims(DynamoClaims):
    """Counts the create claims taken."""

    def __init__(self, claims: DynamoClaims):
        super().__init__(claims.table, claims.buffer, claims.clock)
        self.taken: list[tuple[str, str]] = []

    def claim_create(self, slug, kind, eid, seconds=CLAIM_SECONDS):
        self.taken.append((kind, eid))
        return super().claim_create(slug, kind, eid, seconds)


class CountingState(StoresView):
    """The DynamoDB stores, the create claims counted (`claims`: (kind, id) of each claim taken)."""

    def __init__(self, table):
        stores = dynamo_stores(table)
        counting = CountingClaims(stores.claims)
        super().__init__(dataclasses.replace(stores, claims=counting))
        self.claims = counting.taken


def throttle_once(scim, method="POST", retry_after="1", times=1):
    hits = {"n": 0}

    def override(m, path, query, body):
        if m == method and hits["n"] < times:
            hits["n"] += 1
            return ("429 Too Many Requests", {"Retry-After": retry_after, "Content-Type": "text/plain"}, b"slow down")
        return None

    scim.override = override
    return hits


def lease_item(table):
    return table.get_item(Key={"pk": f"APP#{APP}", "sk": "SCIM#LEASE"}, ConsistentRead=True).get("Item")


# ---------------------------------------------------------------- Retry-After inside the invocation
def test_short_retry_after_is_waited_out_and_the_same_request_sent_again(directory, scim, state, tokens):
    directory.add_app(APP, scim.base_url)
    uid = directory.add_user()
    directory.bind_user(APP, uid)
    slept = []
    engine = Engine(directory, stores_of(state), tokens, client_factory=ScimClient, timeout=(2, 5), sleep=slept.append)
    throttle_once(scim)
    engine.set_deadline(60)
    assert engine.sync_user(APP, uid).outcome == "created"
    assert slept == [1.0]
    assert scim.counts()["POST Users"] == 2  # the throttled one and the same one again
    assert len(scim.list("Users")) == 1


def test_inline_wait_is_bounded_by_the_remaining_time(directory, scim, state, tokens):
    directory.add_app(APP, scim.base_url)
    uid = directory.add_user()
    directory.bind_user(APP, uid)
    now = [1000.0]
    slept = []

    def sleep(seconds):
        slept.append(seconds)
        now[0] += seconds

    engine = Engine(directory, stores_of(state), tokens, client_factory=ScimClient, timeout=(2, 5), sleep=sleep)
    engine.budget.clock = lambda: now[0]

    # 2 s wait, but then less than the margin would be left: no wait, the event goes back to the queue
    engine.set_deadline(INLINE_RETRY_MARGIN + 1.5)
    throttle_once(scim, retry_after="2")
    with pytest.raises(RetryLater) as err:
        engine.sync_user(APP, uid)
    assert err.value.status == 429 and err.value.delay_seconds == 2.0
    assert slept == []
    assert state.get_map(APP, "USER", uid)["status"] == "pending"

    # 1 s fits into the same remaining time
    engine.set_deadline(INLINE_RETRY_MARGIN + 1.5)
    throttle_once(scim, retry_after="1")
    assert engine.sync_user(APP, uid).outcome == "created"
    assert slept == [1.0]


def test_long_retry_after_or_no_lambda_context_is_not_waited(directory, scim, state, tokens):
    directory.add_app(APP, scim.base_url)
    uid = directory.add_user()
    directory.bind_user(APP, uid)
    slept = []
    engine = Engine(directory, stores_of(state), tokens, client_factory=ScimClient, timeout=(2, 5), sleep=slept.append)
    engine.set_deadline(600)
    throttle_once(scim, retry_after="5")  # longer than a few seconds: the queue waits, not the Lambda
    with pytest.raises(RetryLater):
        engine.sync_user(APP, uid)
    engine.set_deadline(None)  # no Lambda context: the remaining time is unknown
    throttle_once(scim, retry_after="1")
    with pytest.raises(RetryLater):
        engine.sync_user(APP, uid)
    assert slept == []


def test_consumer_waits_inside_the_invocation_only_with_time_left(directory, scim, state, tokens, prov_aws):
    sqs = boto3.client("sqs", region_name="us-east-1")
    url, arn, dlq = create_queues(sqs, max_receive=4, visibility=2)
    directory.add_app(APP, scim.base_url)
    a, b = directory.add_user(), directory.add_user()
    for uid in (a, b):
        directory.bind_user(APP, uid)
    engine = Engine(directory, stores_of(state), tokens, client_factory=ScimClient, timeout=(2, 5))  # real sleep
    consumer = Consumer(Dispatcher(engine, Reconciler(engine), BreakerSettings()), queue=SqsEventQueue(sqs), queue_url=url,
                        max_receive_count=4, permanent_delay=0)

    throttle_once(scim)
    publish(sqs, url, "user.created", a)
    stats = drain(sqs, url, arn, lambda event, _ctx: consumer.handle_batch(event, Context(60)), timeout=10)
    assert stats["failures"] == 0 and stats["batches"] == 1  # done in the first invocation
    assert scim.user_by_name(f"{a}@example.com") is not None
    assert engine.budget.deadline is None  # only for that invocation

    throttle_once(scim)
    publish(sqs, url, "user.created", b)
    stats = drain(sqs, url, arn, lambda event, _ctx: consumer.handle_batch(event, Context(5)), timeout=10)
    assert stats["failures"] == 1 and stats["batches"] == 2  # no time to wait: back to the queue, then done
    assert scim.user_by_name(f"{b}@example.com") is not None


# ---------------------------------------------------------------- buffered writes
def test_buffered_writes_are_batched_read_back_and_flushed_on_error(table, state):
    with state.buffered():
        for i in range(30):
            state.log(APP, "USER", f"u{i}", action="create", outcome="success")
        state.put_created(APP, "USER", "u1", scim_id="s1", status="synced", pushed={"userName": "a"}, pushed_hash="h")
        assert state.pending() > 0  # 25 were written; the rest are held
        assert state.get_map(APP, "USER", "u1")["scim_id"] == "s1"  # own held write
        assert table.get_item(Key={"pk": f"APP#{APP}", "sk": "SCIM#USER#u1"}).get("Item") is None
        state.set_status(APP, "USER", "u1", "synced")  # a direct write of a mapping item goes after the held ones
        assert table.get_item(Key={"pk": f"APP#{APP}", "sk": "SCIM#USER#u1"})["Item"]["scim_id"] == "s1"
    assert state.pending() == 0
    assert len(state.read_log(APP, limit=100)) == 30

    with pytest.raises(ZeroDivisionError):
        with state.buffered():
            state.log(APP, "USER", "ux", action="create", outcome="success")
            state.put_created(APP, "USER", "ux", scim_id="sx", status="synced")
            raise ZeroDivisionError  # an error inside the block
    assert state.pending() == 0
    assert state.get_map(APP, "USER", "ux")["scim_id"] == "sx"
    assert state.read_log(APP, user_id="ux")[0]["outcome"] == "success"


def test_reconcile_flushes_what_it_did_when_a_later_user_fails(directory, scim, table, tokens):
    # One request at a time: the users after the failing one are never sent (the parallel run's
    # version: test_parallel_sync.py::test_a_failure_stops_every_worker_and_what_was_done_is_written).
    directory.add_app(APP, scim.base_url, max_concurrency=1)
    users = [directory.add_user() for _ in range(6)]
    for uid in users:
        directory.bind_user(APP, uid)
    bad = users[3]

    def fail_one(method, path, query, body):
        if method == "POST" and body and body.get("externalId") == bad:
            return ("500 Internal Server Error", {"Content-Type": "text/plain"}, b"boom")
        return None

    scim.override = fail_one
    state = CountingState(table)
    engine = Engine(directory, stores_of(state), tokens, client_factory=ScimClient, timeout=(2, 5), sleep=lambda s: None)
    with pytest.raises(RetryLater):
        Reconciler(engine).reconcile_app(APP)
    assert state.pending() == 0
    for uid in users[:3]:  # created before the failure: mapping and log written
        assert state.get_map(APP, "USER", uid)["status"] == "synced"
        assert [e["outcome"] for e in state.read_log(APP, user_id=uid)] == ["success"]
    assert state.get_map(APP, "USER", bad)["status"] == "pending"
    assert state.read_log(APP, user_id=bad)[0]["outcome"] == "retry"
    assert lease_item(table) is None  # everything written: the lease is released

    scim.override = None
    summary = Reconciler(engine).reconcile_app(APP)
    assert summary["users"] == {"no_change": 3, "created": 3}
    assert len(scim.list("Users")) == 6


# ---------------------------------------------------------------- the reconcile lease
def test_reconcile_takes_one_lease_instead_of_a_claim_per_user(directory, scim, table, tokens):
    directory.add_app(APP, scim.base_url, group_management=True)
    users = [directory.add_user() for _ in range(12)]
    gid = directory.add_group("All")
    directory.members[gid] = set(users)
    directory.bind_group(APP, gid)
    state = CountingState(table)
    engine = Engine(directory, stores_of(state), tokens, client_factory=ScimClient, timeout=(2, 5), sleep=lambda s: None)
    summary = Reconciler(engine).reconcile_app(APP)
    assert summary["users"] == {"created": 12} and summary["groups"] == {"created": 1}
    assert [kind for kind, _ in state.claims] == ["GROUP"]
    assert lease_item(table) is None
    assert all(state.get_map(APP, "USER", u)["scim_id"] for u in users)
    assert len(scim.group_by_name("All")["members"]) == 12


def test_reconcile_creates_a_user_claimed_by_a_consumer_the_usual_way(directory, scim, table, tokens):
    directory.add_app(APP, scim.base_url, max_concurrency=1)  # one at a time: `b` is not reached past `a`
    a, b = directory.add_user(), directory.add_user()
    for uid in (a, b):
        directory.bind_user(APP, uid)
    state = CountingState(table)
    engine = Engine(directory, stores_of(state), tokens, client_factory=ScimClient, timeout=(2, 5), sleep=lambda s: None)
    token = state.claim_create(APP, "USER", a)  # a consumer died holding a live claim on `a`
    state.claims.clear()
    with pytest.raises(Busy):
        Reconciler(engine).reconcile_app(APP)
    assert scim.user_by_name(f"{a}@example.com") is None  # never created past the claim
    assert lease_item(table) is None
    state.release_claim(APP, "USER", a, token)
    summary = Reconciler(engine).reconcile_app(APP)
    assert summary["users"] == {"created": 2}
    assert ("USER", a) in state.claims  # the user that had a claim item went through a claim
    assert len(scim.list("Users")) == 2


def test_consumer_does_not_create_while_a_reconcile_holds_the_lease(directory, scim, state, tokens):
    directory.add_app(APP, scim.base_url)
    uid = directory.add_user()
    directory.bind_user(APP, uid)
    engine = Engine(directory, stores_of(state), tokens, client_factory=ScimClient, timeout=(2, 5), sleep=lambda s: None)
    token, _ = state.acquire_lease(APP)
    assert state.acquire_lease(APP) is None  # one holder at a time
    with pytest.raises(Busy):
        engine.sync_user(APP, uid)
    assert scim.counts().get("POST Users", 0) == 0
    assert not state.get_map(APP, "USER", uid).get("claim_token")  # its claim was given back
    state.release_lease(APP, token)
    assert engine.sync_user(APP, uid).outcome == "created"


@pytest.mark.parametrize("first", ["consumer", "reconcile"])
def test_reconcile_and_consumer_racing_on_users_create_each_once(directory, scim, table, tokens, first):
    """A consumer's create and a reconcile's leased creates of the same users, in both orders."""
    directory.add_app(APP, scim.base_url)
    users = [directory.add_user() for _ in range(4)]
    for uid in users:
        directory.bind_user(APP, uid)
    target = users[1]
    # The order is made by events, not by timing: `first` has started its work (the consumer its
    # claim, the reconcile its lease) before the other starts, and then waits in the SP for it.
    consumer_claimed, reconcile_listed, consumer_done = threading.Event(), threading.Event(), threading.Event()

    def ordered(method, path, query, body):
        if method == "GET" and "filter" in query:  # the consumer's match, after its claim
            consumer_claimed.set()
            if first == "consumer":
                assert reconcile_listed.wait(10)  # the reconcile has its lease and has read the items
        elif method == "GET" and path.endswith("/Users"):  # the reconcile's listing, after its lease
            reconcile_listed.set()
        elif method == "POST" and first == "reconcile":
            assert consumer_done.wait(10)  # the consumer tries while the reconcile is creating
        return None

    scim.override = ordered
    shared = StoresView(dynamo_stores(AtomicTable(table)))
    errors, outcomes = [], {}

    def consumer():
        if first == "reconcile":
            assert reconcile_listed.wait(10)
        eng = Engine(directory, stores_of(shared), tokens, client_factory=ScimClient, timeout=(2, 5))
        try:
            outcomes["consumer"] = eng.sync_user(APP, target).outcome
        except Busy:
            outcomes["consumer"] = "busy"
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            consumer_done.set()

    def reconcile():
        if first == "consumer":
            assert consumer_claimed.wait(10)
        eng = Engine(directory, stores_of(shared), tokens, client_factory=ScimClient, timeout=(2, 5))
        try:
            outcomes["reconcile"] = Reconciler(eng).reconcile_app(APP)["users"]
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            reconcile_listed.set()

    threads = [threading.Thread(target=fn) for fn in (consumer, reconcile)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    scim.override = None
    assert not errors, errors
    posts = [json.dumps(b) for m, p, q, b in scim.requests if m == "POST" and p.endswith("/Users")]
    assert sum(target in p for p in posts) == 1, outcomes
    assert len(scim.list("Users")) == len(users)
    if first == "consumer":
        assert outcomes["consumer"] == "created"
    else:
        assert outcomes["consumer"] in ("busy", "no_change")
    assert state_ok(shared, users)


def state_ok(state, users) -> bool:
    return all((state.get_map(APP, "USER", u) or {}).get("scim_id") for u in users)
