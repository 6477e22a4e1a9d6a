"""Benchmark 5: AWS calls per operation, counted, and the capacity and cost model built on them.

The local stack runs in this process (`idp_local.stack.LocalStack`: moto on loopback, the demo
directory, the OfficeSpace stand-in, the HTTP app under uvicorn in a thread) with no consumer loop or
schedule, so every AWS call made while one operation runs belongs to it. botocore event hooks on the
default session count each call (`before-call` / `after-call`) and estimate its DynamoDB request
units from the sizes on the wire, by DynamoDB's on-demand rules: a read is 0.5 unit per 4 KB
(eventually consistent; 1 strongly consistent, 2 in a transaction), a write 1 unit per 1 KB (2 in a
transaction). moto's own `ConsumedCapacity` is a constant, so it is not used. Writes to a global
secondary index cost one more write unit per index the item is in: not counted here (it adds at most
one unit per directory write; mapping and log items are in no index).

The push Lambda is invoked in-process with an SQS event built from the queue's messages, as the
event source mapping does; its receive/delete calls are counted as the mapping's.
"""
from __future__ import annotations

import json
import math
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import requests

APP = "officespace"
READS = {"GetItem", "Query", "Scan", "BatchGetItem", "TransactGetItems"}
WRITES = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}


def read_units(size: int, consistent: bool = False, transactional: bool = False) -> float:
    per = 2.0 if transactional else 1.0 if consistent else 0.5
    return per * max(1, math.ceil(size / 4096))


def write_units(size: int, transactional: bool = False) -> float:
    return (2.0 if transactional else 1.0) * max(1, math.ceil(size / 1024))


@dataclass
class Tally:
    ops: Counter = field(default_factory=Counter)
    rru: float = 0.0
    wru: float = 0.0

    def add(self, other: "Tally") -> None:
        self.ops.update(other.ops)
        self.rru += other.rru
        self.wru += other.wru

    def count(self, service: str) -> int:
        return sum(n for (svc, _), n in self.ops.items() if svc == service)

    def to_dict(self) -> dict:
        return {"ops": {f"{s}.{o}": n for (s, o), n in sorted(self.ops.items())}, "rru": self.rru, "wru": self.wru,
                "dynamodb": self.count("dynamodb"), "sqs": self.count("sqs"), "ssm": self.count("ssm"),
                "secretsmanager": self.count("secretsmanager")}


class CallCounter:
    """botocore event hooks that tally every call of every client of the default session."""

    def __init__(self):
        self.lock = threading.Lock()
        self.current = Tally()

    def install(self, session) -> None:
        session.events.register("before-call", self._before)
        session.events.register("after-call", self._after)

    def take(self) -> Tally:
        with self.lock:
            tally, self.current = self.current, Tally()
        return tally

    def _before(self, model, params, context, **_):
        body = params.get("body") or b""
        context["count_request_size"] = len(body)
        if model.service_model.endpoint_prefix == "dynamodb" and body:
            try:
                request = json.loads(body)
            except ValueError:
                return
            context["count_consistent"] = bool(request.get("ConsistentRead"))
            if model.name == "BatchWriteItem":  # each item is billed on its own: 1 unit per KB, at least 1
                context["count_write_units"] = sum(
                    write_units(len(json.dumps(r.get("PutRequest", r.get("DeleteRequest", r)))))
                    for reqs in request.get("RequestItems", {}).values() for r in reqs)
            elif model.name == "TransactWriteItems":
                context["count_write_units"] = sum(write_units(len(json.dumps(i)), transactional=True)
                                                   for i in request.get("TransactItems", []))

    def _after(self, model, http_response, context, **_):
        service = model.service_model.endpoint_prefix
        op = model.name
        rru = wru = 0.0
        if service == "dynamodb":
            rru, wru = self._units(op, len(getattr(http_response, "content", b"") or b""),
                                   context.get("count_request_size", 0), context.get("count_consistent", False))
            wru = context.get("count_write_units", wru)
        with self.lock:
            self.current.ops[(service, op)] += 1
            self.current.rru += rru
            self.current.wru += wru

    @staticmethod
    def _units(op: str, response_size: int, request_size: int, consistent: bool) -> tuple[float, float]:
        """Request units from the bytes on the wire: the response of a read (its items), the request
        of a write (the item written); a little JSON framing is counted with them."""
        if op in ("GetItem", "Query", "Scan", "BatchGetItem"):
            return read_units(response_size, consistent=consistent), 0.0
        if op == "TransactGetItems":
            return read_units(response_size, transactional=True), 0.0
        if op in ("PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem"):
            return 0.0, write_units(request_size)  # BatchWriteItem: a lower bound (one unit per KB of all items)
        if op == "TransactWriteItems":
            return 0.0, write_units(request_size, transactional=True)
        return 0.0, 0.0


# ------------------------------------------------------------------ the operations
class InProcessStack:
    def __init__(self):
        from idp_local.stack import LocalStack, StackConfig
        from idp_testing.stack import free_port

        self.stack = LocalStack(StackConfig(port=free_port(), standin_port=free_port(), admin_token="bench-admin-token-0123456789abcdef"))
        self.server = None

    def start(self) -> None:
        import uvicorn

        s = self.stack
        s.start_aws()
        s.start_standin()
        s.seed()
        self.server = uvicorn.Server(uvicorn.Config(s.asgi_app(), host="127.0.0.1", port=s.config.port,
                                                    log_level="warning", lifespan="off"))
        threading.Thread(target=self.server.run, daemon=True).start()
        deadline = time.monotonic() + 60
        while not self.server.started and time.monotonic() < deadline:
            time.sleep(0.05)

    def stop(self) -> None:
        if self.server:
            self.server.should_exit = True
        self.stack.stop()

    @property
    def base(self) -> str:
        return self.stack.base_url

    def admin(self, method: str, path: str, body: dict | None = None) -> requests.Response:
        resp = requests.request(method, self.base + path, json=body, timeout=30,
                                headers={"Authorization": f"Bearer {self.stack.config.admin_token}"})
        if resp.status_code >= 400:
            raise RuntimeError(f"{method} {path} → {resp.status_code}: {resp.text[:300]}")
        return resp

    def push_pending(self) -> int:
        """Deliver what is on the events queue to the push function until it is empty; returns batches."""
        import boto3

        from idp_local.event_source import LambdaContext, deliver
        from idp_local.stack import load_function

        push = load_function(self.stack.root, "scim_push")
        sqs = boto3.client("sqs")
        batches = 0
        for _ in range(50):
            got = sqs.receive_message(QueueUrl=self.stack.resources.queue_url, MaxNumberOfMessages=10,
                                      WaitTimeSeconds=0, AttributeNames=["All"]).get("Messages", [])
            if not got:
                break
            deliver(sqs, self.stack.resources.queue_url, self.stack.resources.queue_arn, push, got,
                    LambdaContext("ScimPushFunction"))
            batches += 1
        return batches


def login(base: str):
    """A full IdP-initiated login of the demo user alice; returns the browser holding the session."""
    from benchmarks.sso import Browser, _hidden_fields, _is_saml_form

    b = Browser(base)
    r1 = b.get(f"/saml2/{APP}")
    r2 = b.get(r1.headers["Location"])
    r3 = b.post("/login", {**_hidden_fields(r2.text), "username": "alice", "password": "alice-demo-Pass1"})
    if not _is_saml_form(r3):
        raise RuntimeError(f"login failed: {r3.status_code} {r3.text[:200]}")
    return b


def measure(counter: CallCounter, fn, n: int) -> dict:
    """Run `fn` once untimed (warm caches, as a warm container has them), then n times counted."""
    fn()
    counter.take()
    for _ in range(n):
        fn()
    tally = counter.take()
    per = tally.to_dict()
    return {k: (v / n if isinstance(v, (int, float)) else {op: c / n for op, c in v.items()}) for k, v in per.items()}


def run(n: int = 5) -> dict:
    import boto3

    from benchmarks.sso import _is_saml_form

    boto3.setup_default_session()
    counter = CallCounter()
    counter.install(boto3.DEFAULT_SESSION)
    stack = InProcessStack()
    stack.start()
    try:
        base = stack.base
        out: dict = {}
        out["metadata"] = measure(counter, lambda: requests.get(f"{base}/saml2/{APP}/metadata", timeout=30).raise_for_status(), n)

        out["full_login"] = measure(counter, lambda: login(base), n)
        browser = login(base)

        def sso() -> None:
            if not _is_saml_form(browser.get(f"/saml2/{APP}")):
                raise RuntimeError("SSO with a session did not answer the auto-POST form")

        out["sso_session"] = measure(counter, sso, n)
        stack.push_pending()
        users = stack.admin("GET", "/admin/users?limit=200").json()["items"]
        uid = next(u["id"] for u in users if u["username"] == "alice")  # the same user every run: the demo's, bound by group
        flip = iter(range(10_000))
        out["admin_change"] = measure(counter, lambda: stack.admin("PATCH", f"/admin/users/{uid}", {"title": f"t{next(flip)}"}), n)
        stack.push_pending()
        counter.take()

        # One user pushed: create and bind (admin calls, not counted here), then the push of its events.
        pushed = Tally()
        for i in range(n):
            new = stack.admin("POST", "/admin/users", {"username": f"bench{i}", "email": f"bench{i}@example.com",
                                                       "firstname": "Bench", "lastname": f"User{i}"}).json()["id"]
            stack.admin("PUT", f"/admin/apps/{APP}/users/{new}")
            counter.take()
            stack.push_pending()
            pushed.add(counter.take())
        out["user_pushed"] = {k: (v / n if isinstance(v, (int, float)) else {op: c / n for op, c in v.items()})
                              for k, v in pushed.to_dict().items()}

        # One no-op event: a user.updated for a user the SP already holds as it is.
        sqs = boto3.client("sqs")

        def noop() -> None:
            sqs.send_message(QueueUrl=stack.stack.resources.queue_url, MessageGroupId=uid,
                             MessageDeduplicationId=f"noop-{time.monotonic_ns()}",
                             MessageBody=json.dumps({"type": "user.updated", "id": uid, "at": "2026-12-01T00:00:00Z"}))
            stack.push_pending()

        out["noop_event"] = measure(counter, noop, n)

        # An initial sync, per user: users bound to the app, then one app.sync (the reconcile) and its pushes.
        sync_users = 10 * n
        for i in range(sync_users):
            new = stack.admin("POST", "/admin/users", {"username": f"sync{i}", "email": f"sync{i}@example.com",
                                                       "firstname": "Sync", "lastname": f"User{i}"}).json()["id"]
            stack.admin("PUT", f"/admin/apps/{APP}/users/{new}")
        # Their change events are dropped, not pushed: the SP has never seen them, as before a first sync.
        sqs.purge_queue(QueueUrl=stack.stack.resources.queue_url)
        counter.take()
        t0 = time.perf_counter()
        stack.admin("POST", f"/admin/apps/{APP}/provisioning/sync")
        stack.push_pending()
        wall = time.perf_counter() - t0
        tally = counter.take().to_dict()
        out["initial_sync_per_user"] = {**{k: (v / sync_users if isinstance(v, (int, float)) else
                                               {op: c / sync_users for op, c in v.items()}) for k, v in tally.items()},
                                        "users": sync_users, "wall_s": wall}
        return out
    finally:
        stack.stop()


# ------------------------------------------------------------------ the cost model
# us-east-1 list prices (on-demand), as published on aws.amazon.com/pricing and as the team knows
# them on 2026-12-01; check them on the day you use the table. Free tiers ignored.
PRICES = {
    "dynamodb_wru_per_million": 0.625,
    "dynamodb_rru_per_million": 0.125,
    "lambda_gb_second": 0.0000133334,  # arm64 (Graviton), the template's default Architecture; x86_64 is 0.0000166667
    "lambda_request_per_million": 0.20,
    "sqs_fifo_request_per_million": 0.50,
    "http_api_request_per_million": 1.00,
    "ssm_standard_api": 0.0,  # standard throughput parameters: no charge per call
}
PRICES_DATE = "2026-12-01"
MEMORY_GB = 0.5  # the template's Globals MemorySize: 512 (push, reconcile, admin, metadata)
LOGIN_MEMORY_GB = 1.769  # SamlLoginFunction: one full vCPU, so its measured single-core times hold


def cost(per_op: dict, count: float, lambda_ms: float, http_requests: float, lambda_invocations: float,
         sqs_requests: float, memory_gb: float = MEMORY_GB) -> dict:
    """Dollars for `count` operations given their per-operation counts and measured duration."""
    p = PRICES
    ddb = count * (per_op["wru"] * p["dynamodb_wru_per_million"] + per_op["rru"] * p["dynamodb_rru_per_million"]) / 1e6
    lam = count * (lambda_invocations * p["lambda_request_per_million"] / 1e6
                   + lambda_invocations * (lambda_ms / 1000) * memory_gb * p["lambda_gb_second"])
    api = count * http_requests * p["http_api_request_per_million"] / 1e6
    sqs = count * sqs_requests * p["sqs_fifo_request_per_million"] / 1e6
    return {"dynamodb": ddb, "lambda": lam, "api_gateway": api, "sqs": sqs, "total": ddb + lam + api + sqs}


def model(calls: dict, sso: dict | None = None, scale: dict | None = None) -> dict:
    """The capacity and cost table: 1 million sign-ins a month (with a session, and full logins),
    and initial syncs of 10,000 and 100,000 users, from the counted calls and measured durations."""
    rt_ms = (sso or {}).get("roundtrip", {}).get("median_ms") or 25.0
    login_ms = (sso or {}).get("full_login", {}).get("median_ms") or 150.0
    rows = []
    for name, op, http, ms in (("1M SSO answers with a session", "sso_session", 1, rt_ms),
                               ("1M full logins (password, then SSO)", "full_login", 3, login_ms / 3)):
        per = calls[op]
        rows.append({"name": name, **cost(per, 1e6, ms, http, http, 0, LOGIN_MEMORY_GB), "per_op": per})
    # Request units per user as an initial sync of users (counted above, the audit events included);
    # Lambda time and SCIM requests per user from the 10,000-user row of section 4 when it ran.
    per = calls.get("initial_sync_per_user") or calls["user_pushed"]
    if scale and "layers" in scale:
        users = scale["users"]
        ops = scale["layers"]["aws_ops"]
        lambda_ms_per_user = scale["ours_s"] * 1000 / users
        requests_per_user = scale["ours_requests"] / users
    else:
        ops = {}
        lambda_ms_per_user = per.get("wall_s", 0.02 * per.get("users", 1)) * 1000 / per.get("users", 1)
        requests_per_user = 1.0
    for n in (10_000, 100_000):
        c = cost(per, n, lambda_ms_per_user, 0, 1 / 500, 0)  # one reconcile invocation per 500 users (its 300 s budget)
        rows.append({"name": f"initial sync of {n:,} users", **c,
                     "hours_at_100ms": n * requests_per_user * 0.1 / 3600,
                     "requests": n * requests_per_user})
    return {"rows": rows, "scale_ops": ops}


def memory_sizes(sso: dict | None, cold: dict | None) -> str:
    """Why the template's memory sizes are what they are, from this run's measurements."""
    hash_ms = ((sso or {}).get("password_hash") or {}).get("median_ms")
    rss = {name: row["peak_rss_mib"] for name, row in (cold or {}).items() if isinstance(row, dict) and "peak_rss_mib" in row}
    others = [f"`{n}` {rss[n]:.0f} MiB" for n in ("admin_api", "scim_push", "reconcile", "saml_metadata", "scim_server", "import_job", "audit_ship") if n in rss]
    return ("**Memory sizes** (template.yaml). The login function has 1769 MB, which is one full vCPU (Lambda gives CPU "
            "in proportion to memory). Its requests are CPU-bound: the password hash alone "
            + (f"took {hash_ms:.0f} ms (p50) on one core here (section 3)" if hash_ms else "is most of a login (section 3)")
            + ", plus two RSA signatures per Response. At 512 MB (about 0.29 vCPU) the same login would take about 3.5 times longer for "
            "about the same GB-seconds; that is inferred from Lambda's CPU rule, not measured here. Memory is not what "
            "it needs: argon2id takes 64 MiB per check (RFC 9106 low-memory profile) over an import-time peak RSS of "
            + (f"{rss['saml_login']:.0f} MiB" if "saml_login" in rss else "about 40 MiB") + " (section 2). The other "
            "functions wait on DynamoDB and the SP, not the CPU, and stay at 512 MB, several times their import-time peak "
            "RSS (" + (", ".join(others) if others else "section 2") + ").\n")


def _partitions(heat: dict | None) -> str:
    """What one app's hottest partition allows, from the heat table (section 10) when it ran."""
    rows = []
    for key, label in (("sso_session", "SSO with a session"), ("full_login", "full logins")):
        h = (heat or {}).get(key) or {}
        if h.get("ops_per_second"):
            index, pk, what = h["bound_by"]
            rows.append(f"{h['ops_per_second']:,.0f} {label} a second (its {what} of `{pk}` on {index})")
    if not rows:
        return ("DynamoDB partitions: 1,000 write units and 3,000 read units a second each (the heat table, section 10, "
                "was not run: no figure)")
    return ("DynamoDB partitions: one app's sign-ins reach half a partition's limit (1,000 write units, 3,000 read "
            "units a second) at " + " and ".join(rows) + " (section 10)")


def binds_first(heat: dict | None) -> str:
    """The capacity model's "what binds first", partitions among them."""
    return ("**What binds first.** Sign-ins: API Gateway's account throttle (10,000 requests/s, burst 5,000), "
            "Lambda's regional concurrency (1,000 by default; `LoginReservedConcurrency` reserves part of it), and "
            + _partitions(heat) + "; the table as a whole (on-demand: 40,000 units/s, warm at 4,000 writes and 12,000 "
            "reads/s and doubling from its peak) comes after them. 1 million sign-ins a month is about 0.4 a second on "
            "average. Initial sync: the SP first (OfficeSpace's rate limit; the push honours 429 Retry-After), then the "
            "push function's `MaximumConcurrency: 5` (five batches of ten at a time) and the reconcile's 300 s "
            "timeout per run; every mapping item of an app is in one DynamoDB partition (`APP#<slug>`), which takes "
            "1,000 write units a second, i.e. roughly 1,000 users a second: far above any SP's rate. SQS FIFO in "
            "high-throughput mode (`FifoThroughputLimit: perMessageGroupId`) is not the limit at these sizes.\n")


def render(calls: dict, sso: dict | None, scale: dict | None, out: list[str], cold: dict | None = None,
           heat: dict | None = None) -> None:
    out.append("## 7. AWS calls per operation, and a capacity and cost model\n")
    out.append("Counted with botocore event hooks (`before-call`/`after-call`) on the in-process local stack: every "
               "AWS call one operation makes, averaged over several, after one untimed run (warm caches, as in a warm "
               "container). Request units are estimated from the bytes on the wire by DynamoDB's on-demand rules "
               "(read 0.5 per 4 KB, 1 strongly consistent; write 1 per 1 KB; twice in transactions); GSI writes "
               "(one more unit per index an item is in) are not in them.\n")
    out.append("| operation | DynamoDB calls | read units | write units | SQS | SSM | calls by operation |")
    out.append("|---|---:|---:|---:|---:|---:|---|")
    names = {"sso_session": "SSO with a session", "full_login": "full login (3 requests)", "metadata": "metadata fetch",
             "admin_change": "admin change (PATCH a user)", "user_pushed": "one user pushed (its events)",
             "noop_event": "one no-op event", "initial_sync_per_user": "initial sync (app.sync), per user"}
    for key, label in names.items():
        c = calls.get(key)
        if not c:
            continue
        ops = ", ".join(f"{k.split('.', 1)[1]} {v:.1f}" for k, v in c["ops"].items())
        out.append(f"| {label} | {c['dynamodb']:.1f} | {c['rru']:.1f} | {c['wru']:.1f} | {c['sqs']:.1f} | {c['ssm']:.1f} | {ops} |")
    out.append("")
    m = model(calls, sso, scale)
    out.append(f"**Cost** (us-east-1 on-demand list prices as known on {PRICES_DATE}, free tiers ignored: DynamoDB "
               f"${PRICES['dynamodb_wru_per_million']}/M write units and ${PRICES['dynamodb_rru_per_million']}/M read units; "
               f"Lambda ${PRICES['lambda_gb_second']}/GB-s (arm64, the template's default; the login function at {int(LOGIN_MEMORY_GB * 1000)} MB, "
               f"the others at {int(MEMORY_GB * 1024)} MB, as the template) + "
               f"${PRICES['lambda_request_per_million']}/M invocations; API Gateway HTTP API "
               f"${PRICES['http_api_request_per_million']}/M requests; SQS FIFO ${PRICES['sqs_fifo_request_per_million']}/M "
               "requests. Lambda time per request is the measured local round trip (an upper bound of the handler's time). "
               "Check the prices on the day you use this.)\n")
    out.append("| workload | DynamoDB | Lambda | API Gateway | SQS | total | time |")
    out.append("|---|---:|---:|---:|---:|---:|---|")
    for r in m["rows"]:
        when = (f"{r['requests']:,.0f} SCIM requests: {r['hours_at_100ms']:.2f} h at 100 ms a request, one at a time"
                if "requests" in r else "")
        out.append(f"| {r['name']} | ${r['dynamodb']:.2f} | ${r['lambda']:.2f} | ${r['api_gateway']:.2f} | ${r['sqs']:.2f} | "
                   f"**${r['total']:.2f}** | {when} |")
    out.append("")
    out.append(binds_first(heat))
    out.append(memory_sizes(sso, cold))
