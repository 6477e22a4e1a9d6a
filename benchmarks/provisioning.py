"""Benchmark 4: SCIM provisioning against scim2-server on loopback.

Our side is the Lambda's own wiring (`idp.bootstrap.Container.consumer`: consumer →
dispatcher → engine/reconciler → SCIM client), its state in DynamoDB (moto, in-process
`mock_aws`), fed SQS events as Lambda would; the directory is an in-memory `DirectoryPort` (the
directory store's own cost is not provisioning's). The SP is scim2-server (in memory) in a thread.

(a) initial sync (`app.sync` → full reconcile) of N users in G groups (group management on):
    wall time and requests, against the minimum this design needs and against a bare `requests`
    loop that sends exactly those minimum requests (same payloads, same server);
(b) one attribute changed on every user (N `user.updated` events): requests sent;
(c) a no-op event storm (every user and group event again, nothing changed): requests sent;
(d) the SP limited to R requests/s (token bucket, 429 + Retry-After): total time of the initial
    sync through a real (moto) SQS queue and the consumer's visibility handling, against
    minimum requests / R.
(f) the parallel initial sync (`idp.provisioning.parallel`, the app's `max_concurrency`, default 16) through the
    same queue, Lambda invocations of 60 s (a long sync is cut and resumed): against an SP adding 100 ms to every
    answer (target 2 minutes for 10,000 users; one request at a time is requests x 0.1 s, 17 minutes), and
    against an SP limited to 30 requests/s (target 1.1 x requests / rate); plus the same SP one request at a
    time (`max_concurrency` 1) on a smaller directory, for the time a request costs then.

Every invocation gets a Lambda-like context (`LambdaContext`, the template's 60 s timeout): the
consumer reads its remaining time to decide whether a short Retry-After is waited out inline.

The bare loop runs inside the same `mock_aws` context, so both sides pay the same test-harness
cost (moto routes every `requests` call through `responses`' passthrough).
"""
from __future__ import annotations

import contextlib
import itertools
import json
import math
import os
import threading
import time
import uuid
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

import requests

from idp_testing.aws import AtomicTable, create_table
from idp_testing.directory import FakeDirectory
from idp_testing.lambda_events import LambdaContext

APP = "officespace"
TOKEN = "bench-scim-token"
TABLE = "bench-directory"
SCIM_JSON = "application/scim+json"


# ------------------------------------------------------------------ the SP
class _Quiet(WSGIRequestHandler):
    def log_message(self, *args):
        pass


class TokenBucket:
    """`rate` requests per second, bursts of at most `rate` (one second's worth)."""

    def __init__(self, rate: float):
        self.rate = float(rate)
        self.capacity = float(rate)
        self.tokens = float(rate)
        self.stamp = time.monotonic()
        self.lock = threading.Lock()

    def take(self) -> float:
        """0 when the request may pass, else the seconds until a token is there."""
        with self.lock:
            now = time.monotonic()
            self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now
            if self.tokens >= 1:
                self.tokens -= 1
                return 0.0
            return (1 - self.tokens) / self.rate


class ScimSP:
    """scim2-server in memory on 127.0.0.1, counting requests; optional rate limit (429 + Retry-After
    in whole seconds, as most SPs send it; a 429 does not use up a token)."""

    def __init__(self, rate: float | None = None, delay: float | None = None):
        from scim2_server.memory import InMemoryStorage
        from scim2_server.testserver.application import BearerTokenApplication
        from scim2_server.testserver.cli import ThreadingWSGIServer
        from scim2_server.utils import load_default_provider

        self.app = BearerTokenApplication(InMemoryStorage(), load_default_provider(), bearer_tokens=[TOKEN])
        self.bucket = TokenBucket(rate) if rate else None
        self.delay = delay  # seconds added to every answer (an SP far away, or slow)
        self.inside = self.peak = 0  # requests being answered at once, and the most
        self.counts: dict[str, int] = {}
        self.throttled = 0
        self._lock = threading.Lock()
        # wsgiref answers HTTP/1.0 (a connection per request): a backlog for a parallel sync's bursts of connects
        server_class = type("BacklogServer", (ThreadingWSGIServer,), {"request_queue_size": 128})
        self.server = make_server("127.0.0.1", 0, self._wsgi, server_class=server_class, handler_class=_Quiet)
        self.base_url = f"http://127.0.0.1:{self.server.server_port}/v2"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()
        self.peek = requests.Session()
        self.peek.headers.update({"Authorization": f"Bearer {TOKEN}", "X-Bench-Peek": "1"})

    def _wsgi(self, environ, start_response):
        if environ.get("HTTP_X_BENCH_PEEK"):
            return self.app(environ, start_response)
        with self._lock:
            self.inside += 1
            self.peak = max(self.peak, self.inside)
        try:
            if self.delay:
                time.sleep(self.delay)
            return self._answer(environ, start_response)
        finally:
            with self._lock:
                self.inside -= 1

    def _answer(self, environ, start_response):
        if self.bucket is not None:
            wait = self.bucket.take()
            if wait > 0:
                with self._lock:
                    self.throttled += 1
                length = int(environ.get("CONTENT_LENGTH") or 0)
                if length:
                    environ["wsgi.input"].read(length)
                body = b"rate limited"
                start_response("429 Too Many Requests", [("Retry-After", str(max(1, math.ceil(wait)))),
                                                         ("Content-Type", "text/plain"),
                                                         ("Content-Length", str(len(body)))])
                return [body]
        parts = environ.get("PATH_INFO", "").strip("/").split("/")
        key = f"{environ['REQUEST_METHOD']} {parts[1] if len(parts) > 1 else parts[0]}"
        with self._lock:
            self.counts[key] = self.counts.get(key, 0) + 1
        return list(self.app(environ, start_response))

    def total(self) -> int:
        with self._lock:
            return sum(self.counts.values())

    def reset_counts(self) -> None:
        with self._lock:
            self.counts = {}
            self.throttled = 0

    def list(self, resource: str) -> list[dict]:
        out, start = [], 1
        while True:
            body = self.peek.get(f"{self.base_url}/{resource}", params={"startIndex": start, "count": 100}).json()
            got = body.get("Resources", [])
            out.extend(got)
            start += len(got)
            if not got or start > int(body["totalResults"]):
                return out

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# ------------------------------------------------------------------ the directory
def build_directory(n_users: int, n_groups: int, base_url: str, **prov: Any) -> FakeDirectory:
    """n_users spread evenly over n_groups, every group bound to the app, group management on."""
    d = FakeDirectory()
    for g in range(n_groups):
        gid = f"g-{g:04d}"
        d.groups[gid] = {"id": gid, "name": f"Team {g:02d}", "description": ""}
        d.members[gid] = set()
    for i in range(n_users):
        uid = f"u-{i:05d}"
        d.users[uid] = {"id": uid, "username": f"user{i:05d}", "email": f"user{i:05d}@example.com",
                        "firstname": f"First{i}", "lastname": f"Last{i}", "displayname": f"First{i} Last{i}",
                        "title": "Engineer", "department": "R&D", "employee_id": f"E{i:05d}", "state": "ACTIVE"}
        d.members[f"g-{i % n_groups:04d}"].add(uid)
    d.apps[APP] = {"slug": APP, "label": "OfficeSpace",
                   "provisioning": {"base_url": base_url, "enabled": True, "group_management": True, **prov}}
    d.group_binds[APP] = set(d.groups)
    return d


def minimum_initial_requests(n_users: int, group_sizes: list[int], existing_users: int = 0,
                             existing_groups: int = 0) -> int:
    """What this design cannot do with less on an initial sync: read the SP's users and groups once
    (pages of 100, at least one each), one POST per user, one POST per non-empty group carrying its
    first 100 members, one PATCH per further 100 members."""
    pages = max(1, math.ceil(existing_users / 100)) + max(1, math.ceil(existing_groups / 100))
    groups = sum(1 + max(0, math.ceil((s - 100) / 100)) for s in group_sizes if s > 0)
    return pages + n_users + groups


# ------------------------------------------------------------------ AWS (moto) and our consumer
@contextlib.contextmanager
def _aws_env():
    """Dummy credentials and a region for moto; the caller's environment is restored afterwards."""
    values = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
              "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1",
              "POWERTOOLS_METRICS_DISABLED": "true", "POWERTOOLS_TRACE_DISABLED": "true",
              "POWERTOOLS_SERVICE_NAME": "officespace-idp", "AWS_ENDPOINT_URL": None,
              "IDP_ALLOW_LOCAL_TARGETS": "1"}  # the benchmark's SP listens on loopback, as the local stack's does
    saved = {k: os.environ.get(k) for k in values}
    try:
        for key, value in values.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _moto_as_the_local_stack_runs_it() -> None:
    """moto's transactions at the cost of the items they touch (not a deep copy of the table: ~1 s each at a
    few thousand items, measured on main on 2026-12-07, which pushed (a) past the invocation's time), its
    queries at the cost of their partition, its messages at their own: DynamoDB's and SQS's costs."""
    from idp_local import moto_queries, moto_queues, moto_transactions

    for patch in (moto_transactions, moto_queries, moto_queues):
        patch.install()


def create_queue(sqs, name: str, max_receive: int = 8) -> tuple[str, str]:
    dlq = sqs.create_queue(QueueName=f"{name}-dlq.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    url = sqs.create_queue(QueueName=f"{name}.fifo", Attributes={
        "FifoQueue": "true", "VisibilityTimeout": "360",
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(max_receive)}),
    })["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


_ids = itertools.count(1)


def sqs_event(bodies: list[dict], arn: str = "arn:aws:sqs:us-east-1:123456789012:bench.fifo") -> dict:
    """An SQS → Lambda event (FIFO) carrying the given change events."""
    records = []
    for body in bodies:
        n = next(_ids)
        records.append({
            "messageId": f"m-{n}", "receiptHandle": f"rh-{n}", "body": json.dumps(body),
            "attributes": {"ApproximateReceiveCount": "1", "MessageGroupId": body.get("id") or APP,
                           "MessageDeduplicationId": f"d-{n}", "SentTimestamp": "0"},
            "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs", "eventSourceARN": arn,
            "awsRegion": "us-east-1",
        })
    return {"Records": records}


def event(kind: str, ident: str, app: str | None = APP) -> dict:
    body = {"type": kind, "id": ident, "at": "2026-11-28T00:00:00Z"}
    if app:
        body["app"] = app
    return body


def build_consumer(directory: FakeDirectory, table, sqs=None, queue_url: str | None = None):
    """The consumer exactly as the scim_push function builds it, on an in-memory directory and moto's table."""
    from idp.adapters.provisioning.stores import dynamo_stores
    from idp.bootstrap import Container
    from idp.settings import Settings

    # moto's in-process DynamoDB is not safe for concurrent requests (its transactions copy whole tables, see
    # FIELD_NOTES.md); DynamoDB is: one call at a time here, as the local stack's embedded AWS does it.
    parts = {"store": directory, "provisioning_state": dynamo_stores(AtomicTable(table)),
             "scim_tokens": lambda slug, fresh=False: TOKEN}
    if sqs is not None:
        parts["sqs"] = sqs
    settings = Settings.load(events_queue_url=queue_url or "https://sqs.us-east-1.amazonaws.com/123456789012/bench.fifo")
    return Container(settings, **parts).consumer


LAMBDA_TIMEOUT_S = 60.0  # template.yaml: ScimPushFunction Timeout


def lambda_context() -> LambdaContext:
    """What the consumer reads of Lambda's context: the time left in this invocation (the template's 60 s)."""
    return LambdaContext("ScimPushFunction", timeout_ms=int(LAMBDA_TIMEOUT_S * 1000))


def _send_events(consumer, bodies: list[dict], batch: int = 10) -> int:
    """Hand the events to the consumer in Lambda-sized batches; returns the failed records."""
    failed = 0
    for i in range(0, len(bodies), batch):
        answer = consumer.handle_batch(sqs_event(bodies[i:i + batch]), lambda_context())
        failed += len(answer.get("batchItemFailures", []))
    return failed


# ------------------------------------------------------------------ the bare loop
def bare_initial_sync(sp: ScimSP, directory: FakeDirectory) -> tuple[float, int]:
    """The minimum requests of an initial sync, sent by a plain `requests` loop with the same payloads
    (built before the clock starts). Returns (seconds, requests)."""
    from idp.scim import mapping as mp

    users = sorted(directory.users)
    payloads = {uid: mp.build_user_payload(mp.desired_user_state(directory.users[uid], None, active=True)) for uid in users}
    groups = sorted(directory.groups)
    s = requests.Session()
    s.headers.update({"Authorization": f"Bearer {TOKEN}", "Accept": f"{SCIM_JSON}, application/json"})
    post_headers = {"Content-Type": SCIM_JSON}
    base = sp.base_url
    sent = 0
    t0 = time.perf_counter()
    r = s.get(f"{base}/Users", params={"startIndex": 1, "count": 100})
    r.raise_for_status()
    sent += 1
    ids = {}
    for uid in users:
        r = s.post(f"{base}/Users", data=json.dumps(payloads[uid], separators=(",", ":")), headers=post_headers)
        if r.status_code != 201:
            raise RuntimeError(f"bare POST /Users answered {r.status_code}: {r.text[:200]}")
        ids[uid] = r.json()["id"]
        sent += 1
    r = s.get(f"{base}/Groups", params={"startIndex": 1, "count": 100})
    r.raise_for_status()
    sent += 1
    for gid in groups:
        member_ids = [ids[u] for u in sorted(directory.members[gid])]
        first, rest = member_ids[:100], member_ids[100:]
        payload = mp.group_payload(directory.groups[gid]["name"], gid, first)
        r = s.post(f"{base}/Groups", data=json.dumps(payload, separators=(",", ":")), headers=post_headers)
        if r.status_code != 201:
            raise RuntimeError(f"bare POST /Groups answered {r.status_code}: {r.text[:200]}")
        sent += 1
        scim_id = r.json()["id"]
        for i in range(0, len(rest), 100):
            ops = [{"op": "add", "path": "members", "value": [{"value": v} for v in rest[i:i + 100]]}]
            r = s.patch(f"{base}/Groups/{scim_id}", headers=post_headers, data=json.dumps(
                {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops}))
            r.raise_for_status()
            sent += 1
    return time.perf_counter() - t0, sent


def _check_sp(sp: ScimSP, directory: FakeDirectory) -> None:
    users = sp.list("Users")
    if len(users) != len(directory.users):
        raise RuntimeError(f"the SP holds {len(users)} users, not {len(directory.users)}")
    groups = {g["displayName"]: g for g in sp.list("Groups")}
    for gid, group in directory.groups.items():
        got = groups.get(group["name"])
        if got is None:
            raise RuntimeError(f"the SP has no group {group['name']!r}")
        if len(got.get("members") or []) != len(directory.members[gid]):
            raise RuntimeError(f"the SP group {group['name']!r} has {len(got.get('members') or [])} members, "
                               f"not {len(directory.members[gid])}")


# ------------------------------------------------------------------ scenarios a–c
def bench_sync(n_users: int, n_groups: int) -> dict:
    """(a) initial sync, (b) one attribute changed on every user, (c) a no-op event storm."""
    from moto import mock_aws

    out: dict[str, Any] = {"users": n_users, "groups": n_groups}
    sizes = [n_users // n_groups + (1 if g < n_users % n_groups else 0) for g in range(n_groups)]
    minimum = minimum_initial_requests(n_users, sizes)
    _moto_as_the_local_stack_runs_it()
    with _aws_env(), mock_aws():
        # the bare loop: same server software, fresh storage
        sp = ScimSP()
        try:
            d = build_directory(n_users, n_groups, sp.base_url)
            bare_s, bare_n = bare_initial_sync(sp, d)
        finally:
            sp.close()

        sp = ScimSP()
        try:
            d = build_directory(n_users, n_groups, sp.base_url)
            table = create_table(f"{TABLE}-{uuid.uuid4().hex[:8]}")
            consumer = build_consumer(d, table)
            with Meter() as meter:
                t0 = time.perf_counter()
                failed = _send_events(consumer, [event("app.sync", APP)])
                ours_s = time.perf_counter() - t0
            if failed:
                raise RuntimeError("the initial sync failed; see the provisioning log")
            ours_n = sp.total()
            _check_sp(sp, d)
            out["initial"] = {"ours_s": ours_s, "ours_requests": ours_n, "minimum_requests": minimum,
                              "bare_s": bare_s, "bare_requests": bare_n, "by_kind": dict(sp.counts),
                              "layers": meter.result(ours_s)}

            # (b) one attribute changed on every user
            for user in d.users.values():
                user["title"] = "Senior Engineer"
            sp.reset_counts()
            with Meter() as meter:
                t0 = time.perf_counter()
                failed = _send_events(consumer, [event("user.updated", uid) for uid in sorted(d.users)])
                wall = time.perf_counter() - t0
            out["update"] = {"ours_s": wall, "ours_requests": sp.total(), "minimum_requests": n_users,
                             "events": n_users, "failed": failed, "by_kind": dict(sp.counts),
                             "layers": meter.result(wall)}

            # (c) a no-op storm: every user and group event again, nothing changed
            storm = [event("user.updated", uid) for uid in sorted(d.users)]
            storm += [event("app.access_changed", uid) for uid in sorted(d.users)]
            storm += [event(k, gid) for gid in sorted(d.groups) for k in ("group.updated", "group.members_changed")]
            sp.reset_counts()
            with Meter() as meter:
                t0 = time.perf_counter()
                failed = _send_events(consumer, storm)
                wall = time.perf_counter() - t0
            out["noop"] = {"ours_s": wall, "ours_requests": sp.total(), "events": len(storm),
                           "failed": failed, "by_kind": dict(sp.counts), "layers": meter.result(wall)}
        finally:
            sp.close()
    return out


def bench_scale(n_users: int, n_groups: int, noop_events: int = 1000) -> dict:
    """(e) scale: the initial sync of n_users in n_groups (requests against the minimum, wall against the
    bare loop, DynamoDB calls per user, the growth of the process's peak resident memory during the
    sync), then a sample of no-op events (DynamoDB calls per event). Not tracemalloc: it slows Python
    several-fold and would make the wall time meaningless."""
    import resource

    from moto import mock_aws

    sizes = [n_users // n_groups + (1 if g < n_users % n_groups else 0) for g in range(n_groups)]
    out: dict[str, Any] = {"users": n_users, "groups": n_groups, "minimum_requests": minimum_initial_requests(n_users, sizes)}
    _moto_as_the_local_stack_runs_it()
    with _aws_env(), mock_aws():
        sp = ScimSP()
        try:
            out["bare_s"], out["bare_requests"] = bare_initial_sync(sp, build_directory(n_users, n_groups, sp.base_url))
        finally:
            sp.close()
        sp = ScimSP()
        try:
            d = build_directory(n_users, n_groups, sp.base_url)
            consumer = build_consumer(d, create_table(f"{TABLE}-{uuid.uuid4().hex[:8]}"))
            rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
            with Meter() as meter:
                t0 = time.perf_counter()
                failed, out["invocations"] = 1, 0
                while failed and out["invocations"] < 20:  # a sync longer than one invocation is resumed by the next
                    try:
                        failed = _send_events(consumer, [event("app.sync", APP)])
                    except Exception:  # noqa: BLE001 - the batch failed whole (powertools raises): it comes back, as on Lambda
                        failed = 1
                    out["invocations"] += 1
                out["ours_s"] = time.perf_counter() - t0
            # Growth of the whole process's peak (moto's tables and the in-memory SP included): an upper bound.
            out["peak_mib"] = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024
            if failed:
                raise RuntimeError("the initial sync failed; see the provisioning log")
            _check_sp(sp, d)
            out["ours_requests"] = sp.total()
            out["layers"] = meter.result(out["ours_s"])
            sample = [event("user.updated", uid) for uid in sorted(d.users)[:noop_events]]
            sp.reset_counts()
            with Meter() as meter:
                t0 = time.perf_counter()
                _send_events(consumer, sample)
                wall = time.perf_counter() - t0
            out["noop"] = {"events": len(sample), "ours_s": wall, "requests": sp.total(), "layers": meter.result(wall)}
        finally:
            sp.close()
    return out


class Meter:
    """Splits our wall time by layer while active: SCIM HTTP (client-side wall of every
    `requests` call) and AWS API calls (botocore, here DynamoDB in moto); the rest is our code."""

    def __init__(self):
        self.scim_s = 0.0
        self.scim_calls = 0
        self.aws_s = 0.0
        self.aws_ops: dict[str, int] = {}
        self._orig = None

    def __enter__(self):
        import botocore.client

        orig_request = requests.Session.request
        orig_api = botocore.client.BaseClient._make_api_call
        meter = self

        def timed_request(self_, *a, **kw):
            t0 = time.perf_counter()
            try:
                return orig_request(self_, *a, **kw)
            finally:
                meter.scim_s += time.perf_counter() - t0
                meter.scim_calls += 1

        def timed_api(self_, operation, params):
            t0 = time.perf_counter()
            try:
                return orig_api(self_, operation, params)
            finally:
                meter.aws_s += time.perf_counter() - t0
                meter.aws_ops[operation] = meter.aws_ops.get(operation, 0) + 1

        self._orig = (orig_request, orig_api)
        requests.Session.request = timed_request
        botocore.client.BaseClient._make_api_call = timed_api
        return self

    def __exit__(self, *exc):
        import botocore.client

        requests.Session.request, botocore.client.BaseClient._make_api_call = self._orig
        return False

    def result(self, wall_s: float) -> dict:
        return {"scim_http_s": self.scim_s, "scim_calls": self.scim_calls, "aws_s": self.aws_s,
                "aws_calls": sum(self.aws_ops.values()), "aws_ops": dict(self.aws_ops),
                "other_s": max(0.0, wall_s - self.scim_s - self.aws_s)}


# ------------------------------------------------------------------ scenario d
def bench_rate_limited(n_users: int, n_groups: int, rate: float, timeout: float = 300) -> dict:
    """(d) initial sync through a moto SQS queue with the SP limited to `rate` requests/s."""
    return queued_sync(n_users, n_groups, rate=rate, timeout=timeout)


def bench_parallel(n_users: int, n_groups: int, *, delay: float = 0.1, rate: float = 30.0, seq_users: int = 300,
                   timeout: float = 1800) -> dict:
    """(f) the parallel initial sync: the SP adding `delay` to every answer, then limited to `rate` requests/s
    (both at the app's default `max_concurrency`), then the delayed SP one request at a time on `seq_users`."""
    from idp.provisioning.planner import DEFAULT_MAX_CONCURRENCY

    out: dict[str, Any] = {"max_concurrency": DEFAULT_MAX_CONCURRENCY, "delay": delay}
    out["latency"] = queued_sync(n_users, n_groups, delay=delay, timeout=timeout)
    out["rate"] = queued_sync(n_users, n_groups, rate=rate, timeout=timeout)
    if seq_users:
        out["sequential"] = queued_sync(seq_users, max(1, n_groups * seq_users // max(1, n_users)), delay=delay,
                                        timeout=timeout, max_concurrency=1)
    return out


def queued_sync(n_users: int, n_groups: int, *, rate: float | None = None, delay: float | None = None,
                timeout: float = 300, max_concurrency: int | None = None) -> dict:
    """The initial sync of n_users in n_groups through a moto SQS FIFO queue, each receive handed to the consumer
    as Lambda would (a 60 s context: a longer sync is cut and the event comes back), until the queue is empty;
    the SP limited to `rate` requests/s and/or adding `delay` to every answer."""
    import boto3
    from moto import mock_aws

    from idp_local.event_source import deliver

    _moto_as_the_local_stack_runs_it()
    sizes = [n_users // n_groups + (1 if g < n_users % n_groups else 0) for g in range(n_groups)]
    minimum = minimum_initial_requests(n_users, sizes)
    prov = {} if max_concurrency is None else {"max_concurrency": max_concurrency}
    with _aws_env(), mock_aws():
        sqs = boto3.client("sqs", region_name="us-east-1")
        url, arn = create_queue(sqs, f"bench-{uuid.uuid4().hex[:8]}")
        sp = ScimSP(rate=rate, delay=delay)
        try:
            d = build_directory(n_users, n_groups, sp.base_url, **prov)
            table = create_table(f"{TABLE}-{uuid.uuid4().hex[:8]}")
            consumer = build_consumer(d, table, sqs=sqs, queue_url=url)
            # let the bucket fill (a quiet SP), then start the clock with the event on the queue
            time.sleep(1.0)
            sp.reset_counts()
            t0 = time.perf_counter()
            sqs.send_message(QueueUrl=url, MessageBody=json.dumps(event("app.sync", APP)), MessageGroupId=APP,
                             MessageDeduplicationId=uuid.uuid4().hex)
            receives = failures = 0
            while True:
                if time.perf_counter() - t0 > timeout:
                    raise TimeoutError(f"initial sync through the queue not done after {timeout}s")
                got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0,
                                          AttributeNames=["All"], MessageAttributeNames=["All"]).get("Messages", [])
                if not got:
                    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=[
                        "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
                    if int(attrs["ApproximateNumberOfMessages"]) + int(attrs["ApproximateNumberOfMessagesNotVisible"]) == 0:
                        break
                    time.sleep(0.02)  # Lambda's poller long-polls: a message is picked up as it becomes visible
                    continue
                receives += 1
                failed = deliver(sqs, url, arn, consumer.handle_batch, got, lambda_context())
                failures += failed is None or bool(failed)
            total_s = time.perf_counter() - t0
            _check_sp(sp, d)
            ok = sp.total()
            return {"users": n_users, "groups": n_groups, "rate": rate, "delay": delay, "total_s": total_s,
                    "floor_s": minimum / rate if rate else None, "minimum_requests": minimum, "ours_requests": ok,
                    "throttled_429": sp.throttled, "receives": receives, "failed_receives": failures,
                    "by_kind": dict(sp.counts), "peak_in_flight": sp.peak, "max_concurrency": max_concurrency,
                    "load_avg": os.getloadavg()}
        finally:
            sp.close()
