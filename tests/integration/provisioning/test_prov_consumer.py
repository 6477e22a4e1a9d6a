"""The SQS consumer end to end: moto SQS FIFO + DLQ, a local receive loop (the event source
mapping), scim2-server behind a fault-injecting proxy."""
import json
import time

import boto3
import pytest

from idp.adapters.event_queue import SqsEventQueue
from idp.adapters.scim_client import ScimClient
from idp.provisioning.consumer import Consumer
from idp.provisioning.dispatch import Dispatcher
from idp.provisioning.engine import Engine
from idp.provisioning.metrics import ProvisioningMetrics
from idp.provisioning.policy import BreakerSettings
from idp.provisioning.reconcile import Reconciler
from idp_testing.aws import create_queues, drain, publish, queue_depth, receive_all
from idp_testing.provisioning_state import stores_of
from idp_testing.scim_server import FaultProxy

APP = "office"


@pytest.fixture
def sqs(prov_aws):
    return boto3.client("sqs", region_name="us-east-1")


@pytest.fixture
def queues(sqs):
    return create_queues(sqs, max_receive=4, visibility=2)


def make_consumer(directory, state, tokens, sqs, url, *, timeout=(0.5, 0.5)):
    metrics = ProvisioningMetrics()
    engine = Engine(directory, stores_of(state), tokens, client_factory=ScimClient, timeout=timeout, on_exchange=metrics.exchange)
    dispatcher = Dispatcher(engine, Reconciler(engine),
                            BreakerSettings(threshold=5, base_cooldown=1, max_cooldown=2, auth_retry=1), metrics)
    return Consumer(dispatcher, queue=SqsEventQueue(sqs), queue_url=url, max_receive_count=4, backoff_base=0.5, backoff_cap=2,
                    permanent_delay=0, metrics=metrics)


def build_directory(directory, n_users=30):
    users = [directory.add_user(title=f"T{i}", department="D") for i in range(n_users)]
    g1, g2, g3 = directory.add_group("Eng"), directory.add_group("Ops"), directory.add_group("Unbound")
    directory.members[g1] = set(users[0:15])
    directory.members[g2] = set(users[10:18])
    directory.members[g3] = set(users[25:30])
    directory.bind_group(APP, g1)
    directory.bind_group(APP, g2)
    for u in users[18:23]:
        directory.bind_user(APP, u)
    directory.update_user(users[3], state="SUSPENDED")
    directory.update_user(users[19], state="SUSPENDED")
    return users, (g1, g2, g3)


def assert_sp_equals_directory(directory, scim):
    """Every user and group in the SP equals the directory; no duplicates."""
    from idp.provisioning.run import CachedDirectory

    d = CachedDirectory(directory)
    sp_users = scim.list("Users")
    names = [u["userName"].lower() for u in sp_users]
    assert len(names) == len(set(names)), "duplicate users"
    by_name = {u["userName"].lower(): u for u in sp_users}
    by_id = {u["id"]: u for u in sp_users}
    for uid, user in directory.users.items():
        sp = by_name.get(user["email"].lower())
        should_be_active = d.user_bound(APP, uid) and user["state"] == "ACTIVE"
        if should_be_active:
            assert sp is not None, f"{uid} missing in the SP"
            assert sp["active"] is True, uid
            assert sp["externalId"] == uid
            assert sp.get("title") == user.get("title"), uid
            assert sp["name"]["givenName"] == user["firstname"]
        elif sp is not None:
            assert sp["active"] is False, f"{uid} should be inactive"
    sp_groups = scim.list("Groups")
    gnames = [g["displayName"] for g in sp_groups]
    assert len(gnames) == len(set(gnames)), f"duplicate groups {gnames}"
    for gid in directory.app_group_bindings(APP):
        group = directory.groups[gid]
        provisioned = {u for u in directory.members[gid] if directory.users[u]["email"].lower() in by_name}
        sp = scim.group_by_name(group["name"])
        if not provisioned:
            assert sp is None
            continue
        assert sp is not None, f"group {group['name']} missing"
        values = [m["value"] for m in sp.get("members") or []]
        assert len(values) == len(set(values)), "duplicate members"
        got = sorted(by_id[v]["userName"].lower() for v in values)
        assert got == sorted(directory.users[u]["email"].lower() for u in provisioned), group["name"]


def test_converges_after_transient_faults(directory, scim, state, tokens, sqs, queues):
    url, arn, dlq = queues
    proxy = FaultProxy(scim.port, seed=20260101, rate=0.4, hang_seconds=0.7, retry_after=1, faulty_requests=150)
    try:
        directory.add_app(APP, proxy.base_url(), group_management=True)
        users, (g1, g2, g3) = build_directory(directory)
        consumer = make_consumer(directory, state, tokens, sqs, url)
        for uid in users:
            publish(sqs, url, "user.created", uid)
        for gid in (g1, g2, g3):
            publish(sqs, url, "group.created", gid)
            publish(sqs, url, "app.access_changed", gid, app=APP)

        stats = drain(sqs, url, arn, consumer.handle_batch, timeout=120)
        assert sum(proxy.injected.values()) >= 30, proxy.injected
        assert len(proxy.injected) == len(FaultProxy.FAULTS), proxy.injected  # every kind of fault happened
        assert stats["failures"] > 0
        assert_sp_equals_directory(directory, scim)
        assert receive_all(sqs, dlq) == []

        # A second round of changes, under faults again.
        proxy.faulty, proxy.seen, proxy.faulty_requests, proxy.rate = True, 0, 60, 0.3
        directory.groups[g1]["name"] = "Engineering"
        directory.members[g1] -= set(users[0:5])
        directory.members[g2] |= set(users[25:28])
        directory.update_user(users[12], title="Lead")
        directory.update_user(users[3], state="ACTIVE")
        directory.unbind_user(APP, users[20])
        for uid in (users[12], users[3], users[20]):
            publish(sqs, url, "user.updated", uid)
        publish(sqs, url, "group.updated", g1)
        publish(sqs, url, "group.members_changed", g1)
        publish(sqs, url, "group.members_changed", g2)
        drain(sqs, url, arn, consumer.handle_batch, timeout=120)
        assert_sp_equals_directory(directory, scim)
        assert scim.group_by_name("Eng") is None and scim.group_by_name("Engineering") is not None
        assert receive_all(sqs, dlq) == []
        assert consumer.metrics.totals[(APP, "TransientFailures")] > 0
    finally:
        proxy.close()


def test_permanent_400_goes_to_dlq_with_reason_and_poison_does_not_block(directory, scim, state, tokens, sqs, queues):
    url, arn, dlq = queues
    directory.add_app(APP, scim.base_url)
    good = [directory.add_user() for _ in range(3)]
    bad = directory.add_user(title="REJECT-ME")
    for uid in good + [bad]:
        directory.bind_user(APP, uid)

    def reject(method, path, query, body):
        if method in ("POST", "PATCH", "PUT") and "REJECT-ME" in json.dumps(body):
            return ("400 Bad Request", {"Content-Type": "application/scim+json"},
                    {"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"], "status": "400",
                     "scimType": "invalidValue", "detail": "title 'REJECT-ME' is not an allowed job title"})
        return None

    scim.override = reject
    consumer = make_consumer(directory, state, tokens, sqs, url)
    sqs.send_message(QueueUrl=url, MessageBody="{not json", MessageGroupId="poison", MessageDeduplicationId="p1")
    publish(sqs, url, "user.created", bad)
    for uid in good:
        publish(sqs, url, "user.created", uid)
    drain(sqs, url, arn, consumer.handle_batch, timeout=60)

    for uid in good:
        assert scim.user_by_name(f"{uid}@example.com")["active"] is True
    dead = receive_all(sqs, dlq)
    assert sorted(m["Body"] for m in dead) == sorted(["{not json", json.dumps({"type": "user.created", "id": bad,
                                                                               "at": "2026-01-01T00:00:00Z"})])
    log = state.read_log(APP, user_id=bad)
    assert log and log[0]["outcome"] == "failed"
    assert log[0]["sp_status"] == 400
    assert "not an allowed job title" in log[0]["sp_message"]
    assert state.get_map(APP, "USER", bad)["status"] == "failed"
    assert "not an allowed job title" in state.app_status(APP)["last_error"]
    assert state.counts(APP)["users"] == {"in_sync": 3, "pending": 0, "failed": 1}


def test_401_marks_app_failing_keeps_messages_and_pushes_after_fix(directory, scim, state, tokens, sqs, queues):
    url, arn, dlq = queues
    directory.add_app(APP, scim.base_url)
    users = [directory.add_user() for _ in range(3)]
    for uid in users:
        directory.bind_user(APP, uid)
    tokens.tokens[APP] = "wrong-token"
    consumer = make_consumer(directory, state, tokens, sqs, url)
    for uid in users:
        publish(sqs, url, "user.created", uid)

    started = time.monotonic()
    drain(sqs, url, arn, consumer.handle_batch, until=lambda: time.monotonic() - started > 7, timeout=30)
    status = state.app_status(APP)
    assert status["state"] == "auth_failed"
    assert "refused the SCIM credentials" in status["reason"] and "401" in status["reason"]
    assert queue_depth(sqs, url) == 3  # kept, even after more receives than maxReceiveCount
    assert receive_all(sqs, dlq) == []
    assert scim.list("Users") == []
    requests_while_broken = len(scim.requests)
    assert requests_while_broken <= 12  # the breaker paces the attempts (about one per message per second)

    tokens.tokens[APP] = "secret"  # the administrator fixes the token; no resync
    drain(sqs, url, arn, consumer.handle_batch, timeout=30)
    assert sorted(u["userName"] for u in scim.list("Users")) == sorted(f"{u}@example.com" for u in users)
    assert state.app_status(APP)["state"] == "ok"
    assert receive_all(sqs, dlq) == []


def test_retry_after_delays_only_that_message(directory, scim, state, tokens, sqs, queues):
    url, arn, dlq = queues
    directory.add_app(APP, scim.base_url)
    slow, fast = directory.add_user(), directory.add_user()
    for uid in (slow, fast):
        directory.bind_user(APP, uid)
    hits = {"n": 0}

    def throttle_slow(method, path, query, body):
        if method == "GET" and slow in query.get("filter", "") and hits["n"] == 0:
            hits["n"] += 1
            return ("429 Too Many Requests", {"Retry-After": "3", "Content-Type": "text/plain"}, b"slow down")
        return None

    scim.override = throttle_slow
    consumer = make_consumer(directory, state, tokens, sqs, url)
    publish(sqs, url, "user.created", slow)
    publish(sqs, url, "user.created", fast)
    t0 = time.monotonic()
    drain(sqs, url, arn, consumer.handle_batch, until=lambda: scim.user_by_name(f"{fast}@example.com") is not None,
          timeout=10)
    assert time.monotonic() - t0 < 2  # the other message was not held back
    assert scim.user_by_name(f"{slow}@example.com") is None
    drain(sqs, url, arn, consumer.handle_batch, timeout=15)
    assert time.monotonic() - t0 >= 2.5  # honoured Retry-After: 3
    assert scim.user_by_name(f"{slow}@example.com") is not None
