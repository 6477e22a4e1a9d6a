"""Benchmark 10: the SCIM 2.0 server of the identity sources (contract section 10, ScimServerFunction's routes at
/scim/v2): each kind of request's p50 and p95, and the AWS calls it makes, beside the admin API's user create.

The local stack runs in this process (`benchmarks.aws_calls.InProcessStack`: moto on loopback, the demo directory,
the HTTP app under uvicorn in a thread, no consumer loop or schedule), so the botocore hooks of section 7
(`aws_calls.CallCounter`) see every AWS call a request makes and nothing else runs meanwhile. The client runs in a
process of its own (as section 5's), sequential over one kept-alive connection, so it does not compete with the
server for the GIL; it checks every answer's status (and the fields a kind names) and times each request from send
to the body read.

One identity source (`POST /admin/sources`) and its token; then five kinds of request: the SCIM user create (`POST
/Users`, a new user each), the admin API's user create as the reference (`POST /admin/users`, a new user each), the
filtered GET (`GET /Users?filter=userName eq "..."`, each created user once), the GET by id, and the deactivation
(`PATCH` `active` false, RFC 7644's form). A round sends each kind in turn, a client run each, on a chunk of users:
one untimed round on W users of its own, then N users in ROUNDS timed and counted rounds, so drift on the shared
machine hits every kind alike. Calls per request are a kind's counted calls divided by its N requests.
"""
from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from typing import Any
from urllib.parse import urlencode

from .common import ROOT, summary_ms

WARMUP = 10
ROUNDS = 5
SCIM_USER = "urn:ietf:params:scim:schemas:core:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"

#: The rows of the report, in order: (kind, label, target). No request of this server has a latency target in the
#: issue (27 asks for the p50 to be reported), so every target cell says so.
KINDS = (
    ("create", "`POST /scim/v2/Users` (user create)", "reported"),
    ("filter", '`GET /scim/v2/Users?filter=userName eq "…"` (filtered GET)', "reported"),
    ("get", "`GET /scim/v2/Users/{id}`", "reported"),
    ("deactivate", "`PATCH /scim/v2/Users/{id}` `active` false", "reported"),
    ("admin_create", "reference: `POST /admin/users` (the admin API's user create)", "–"),
)

# The client: the requests of one run from stdin, each checked, timed from send to the body read.
_CLIENT = """
import json, sys, time, requests
spec = json.load(sys.stdin)
s = requests.Session()
s.headers.update(spec["headers"])
seconds, ids = [], []
for r in spec["requests"]:
    t0 = time.perf_counter()
    resp = s.request(r["method"], r["url"], data=r.get("body"), timeout=30)
    seconds.append(time.perf_counter() - t0)
    if resp.status_code != r["expect"]:
        sys.exit(f"{r['method']} {r['url']} -> {resp.status_code}, expected {r['expect']}: {resp.text[:300]}")
    body = resp.json() if resp.content else {}
    for key, value in r.get("check", {}).items():
        if body.get(key) != value:
            sys.exit(f"{r['method']} {r['url']}: {key} is {body.get(key)!r}, expected {value!r}")
    ids.append(body.get("id"))
print(json.dumps({"seconds": seconds, "ids": ids}))
"""


def _client(headers: dict[str, str], requests: list[dict[str, Any]]) -> dict[str, Any]:
    """Send `requests` in order from a process of its own; their seconds and the `id` each answer carried."""
    if not requests:
        return {"seconds": [], "ids": []}
    done = subprocess.run([sys.executable, "-c", _CLIENT], cwd=ROOT, input=json.dumps({"headers": headers, "requests": requests}),
                          capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise RuntimeError(f"the client failed: {done.stderr[-2000:]}")
    return json.loads(done.stdout)


def scim_user(name: str) -> dict[str, Any]:
    return {"schemas": [SCIM_USER], "userName": name, "active": True, "name": {"givenName": "Bench", "familyName": name},
            "emails": [{"value": f"{name}@example.com", "type": "work", "primary": True}], "title": "Analyst"}


def requests_for(kind: str, base: str, names: list[str], ids: dict[str, str]) -> list[dict[str, Any]]:
    """The requests of one run of `kind` on the users `names` (`ids`: their SCIM ids, for the kinds that need one)."""
    scim = f"{base}/scim/v2"
    if kind == "create":
        return [{"method": "POST", "url": f"{scim}/Users", "body": json.dumps(scim_user(n)), "expect": 201,
                 "check": {"userName": n}} for n in names]
    if kind == "admin_create":
        return [{"method": "POST", "url": f"{base}/admin/users", "expect": 201, "body": json.dumps(
            {"username": n, "email": f"{n}@example.com", "firstname": "Bench", "lastname": n, "title": "Analyst"})}
            for n in names]
    if kind == "filter":
        return [{"method": "GET", "url": f"{scim}/Users?" + urlencode({"filter": f'userName eq "{n}"'}), "expect": 200, "check": {"totalResults": 1}}
                for n in names]
    if kind == "get":
        return [{"method": "GET", "url": f"{scim}/Users/{ids[n]}", "expect": 200, "check": {"userName": n}} for n in names]
    if kind == "deactivate":
        patch = {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "active", "value": False}]}
        return [{"method": "PATCH", "url": f"{scim}/Users/{ids[n]}", "body": json.dumps(patch), "expect": 200,
                 "check": {"active": False}} for n in names]
    raise ValueError(f"unknown kind {kind!r}")


def summarize(seconds: list[float], tally: dict[str, Any], aws_seconds: float = 0.0) -> dict[str, Any]:
    """One row: the timings of a run (`common.summary_ms`), its counted calls (`aws_calls.Tally.to_dict`) per request,
    and the time the server spent in them (`AwsClock`) per request, in ms."""
    n = len(seconds)
    row: dict[str, Any] = summary_ms(seconds)
    for key in ("dynamodb", "sqs", "rru", "wru"):
        row[key] = tally.get(key, 0) / n
    row["ops"] = {op: count / n for op, count in sorted(tally.get("ops", {}).items())}
    row["aws_ms"] = aws_seconds * 1000 / n
    return row


class AwsClock:
    """botocore hooks summing the wall time of every AWS call the server makes, from `before-call` to `after-call`
    (the request on the wire to moto and its answer parsed)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.seconds = 0.0

    def install(self, session: Any) -> None:
        session.events.register("before-call", self._before)
        session.events.register("after-call", self._after)

    def take(self) -> float:
        with self.lock:
            seconds, self.seconds = self.seconds, 0.0
        return seconds

    def _before(self, context: dict[str, Any], **_: Any) -> None:
        context["aws_clock_t0"] = time.perf_counter()

    def _after(self, context: dict[str, Any], **_: Any) -> None:
        t0 = context.get("aws_clock_t0")
        if t0 is not None:
            with self.lock:
                self.seconds += time.perf_counter() - t0


def op_difference(row: dict[str, Any], reference: dict[str, Any]) -> dict[str, float]:
    """Calls per request by operation that `row` makes more (or fewer) than `reference`; equal ones left out."""
    ops = sorted(set(row["ops"]) | set(reference["ops"]))
    diff = {op: row["ops"].get(op, 0.0) - reference["ops"].get(op, 0.0) for op in ops}
    return {op: d for op, d in diff.items() if abs(d) >= 0.05}


def rounds(names: list[str], count: int) -> list[list[str]]:
    """`names` in `count` consecutive chunks, as even as can be and none empty (fewer when there are fewer names)."""
    count = max(1, min(count, len(names)))
    size, extra = divmod(len(names), count)
    out, start = [], 0
    for k in range(count):
        end = start + size + (1 if k < extra else 0)
        out.append(names[start:end])
        start = end
    return out


def _named(kind: str, names: list[str]) -> list[str]:
    """The users a kind works on: the SCIM kinds on the source's, the admin API's create on users of its own."""
    return [("admin" if kind == "admin_create" else "scim") + name for name in names]


def run(n: int = 200, warmup: int = WARMUP) -> dict[str, Any]:
    import boto3

    from .aws_calls import CallCounter, InProcessStack, Tally

    boto3.setup_default_session()
    counter = CallCounter()
    counter.install(boto3.DEFAULT_SESSION)
    clock = AwsClock()
    clock.install(boto3.DEFAULT_SESSION)
    stack = InProcessStack()
    stack.start()
    try:
        base = stack.base
        source = stack.admin("POST", "/admin/sources", {"name": "Bench HR"}).json()
        headers = {"scim": {"Authorization": f"Bearer {source['token']}", "Content-Type": "application/scim+json"},
                   "admin": {"Authorization": f"Bearer {stack.stack.config.admin_token}", "Content-Type": "application/json"}}
        kinds = [kind for kind, _label, _target in KINDS]
        ids: dict[str, str] = {}
        seconds: dict[str, list[float]] = {kind: [] for kind in kinds}
        tallies = {kind: Tally() for kind in kinds}
        aws_seconds = dict.fromkeys(kinds, 0.0)
        warm = [f"warm{i}" for i in range(min(warmup, n))]
        chunks = rounds([f"bench{i}" for i in range(n)], ROUNDS)
        # The untimed round first, then the timed ones: each round every kind in turn, so drift on the shared machine
        # hits all kinds alike. A kind's calls are what the counter saw during its client's run.
        for timed, chunk in [(False, warm)] + [(True, c) for c in chunks]:
            for kind in kinds:
                names = _named(kind, chunk)
                counter.take()
                clock.take()
                got = _client(headers["admin" if kind == "admin_create" else "scim"], requests_for(kind, base, names, ids))
                tally, in_aws = counter.take(), clock.take()
                if kind == "create":
                    ids.update(zip(names, got["ids"]))
                if timed:
                    seconds[kind] += got["seconds"]
                    tallies[kind].add(tally)
                    aws_seconds[kind] += in_aws
        rows = {kind: summarize(seconds[kind], tallies[kind].to_dict(), aws_seconds[kind]) for kind in kinds}
        return {"n": n, "warmup": len(warm), "rounds": len(chunks), "rows": rows}
    finally:
        stack.stop()


def _calls(count: float) -> str:
    """Calls per request: one decimal, three when rare (a write once a minute shows, not as 0.0)."""
    return f"{count:.1f}" if count >= 0.1 or count == 0 else f"{count:.3f}"


def render(r: dict[str, Any], out: list[str], t: Any = None) -> None:
    out.append("## 10. SCIM server of the identity sources: a request's p50 and its AWS calls\n")
    if "error" in r:
        out.append(f"Not measured: `{r['error']}`\n")
        if t is not None:
            t.report("SCIM server: user create p50 (`POST /scim/v2/Users`)", "n/a")
            t.report("SCIM server: filtered GET p50 (`userName eq`)", "n/a")
        return
    rows = r["rows"]
    out.append("The local stack in the benchmark's process (moto on loopback, the demo directory, the `/scim/v2` routes "
               "ScimServerFunction serves, no consumer loop), one identity source and its token; the client in a process "
               "of its own, sequential over one kept-alive connection, every answer's status checked. A round sends "
               "each kind in turn on a chunk of users (a SCIM create, the admin API's create of users of its own, the "
               "filtered GET and the GET by id of each user the SCIM create made, its deactivation): one untimed round of "
               f"{r['warmup']} users, then {r['n']} users in {r.get('rounds', 1)} timed rounds, so drift on the shared "
               "machine hits every kind alike. AWS calls are counted with section 7's botocore hooks over the timed "
               "rounds and divided by the requests; the events a write queues are the SQS column. *in AWS calls* is "
               "the server's time inside them (botocore's `before-call` to `after-call`, moto on loopback in another process), per "
               "request: the rest of a request is HTTP, the resolver, SCIM parsing and answering, and our code.\n")
    out.append("| request | runs | p50 | p95 | target | in AWS calls, of the whole (means) | DynamoDB calls | read units | write units | SQS | "
               "calls by operation |")
    out.append("|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---|")
    for kind, label, target in KINDS:
        row = rows.get(kind)
        if not row:
            continue
        ops = ", ".join(f"{op.split('.', 1)[1]} {_calls(count)}" for op, count in row["ops"].items())
        out.append(f"| {label} | {row['n']} | {row['median_ms']:.1f} ms | {row['p95_ms']:.1f} ms | {target} | "
                   f"{row.get('aws_ms', 0.0):.1f} of {row['mean_ms']:.1f} ms | {row['dynamodb']:.1f} | {row['rru']:.1f} | {row['wru']:.1f} | {row['sqs']:.1f} | {ops} |")
    out.append("")
    create, admin, found = rows.get("create"), rows.get("admin_create"), rows.get("filter")
    if create and admin:
        more = ", ".join(f"{op.split('.', 1)[1]} {d:+.1f}" for op, d in op_difference(create, admin).items()) or "none"
        out.append(f"A SCIM user create takes **{create['median_ms'] / admin['median_ms']:.2f}×** the admin API's (p50 "
                   f"{create['median_ms']:.1f} ms against {admin['median_ms']:.1f} ms), with "
                   f"{create['dynamodb'] - admin['dynamodb']:+.1f} DynamoDB calls a request (by operation: {more}) and "
                   f"{create.get('aws_ms', 0.0) - admin.get('aws_ms', 0.0):+.1f} ms in AWS calls (means). Both "
                   "go through the same directory service; every SCIM request first reads the source behind its token "
                   "(one `GetItem`).\n")
    if t is not None:
        ref = f" (admin API's create {admin['median_ms']:.1f} ms)" if admin else ""
        if create:
            t.report("SCIM server: user create p50 (`POST /scim/v2/Users`)", f"{create['median_ms']:.1f} ms{ref}")
        if found:
            t.report("SCIM server: filtered GET p50 (`userName eq`)", f"{found['median_ms']:.1f} ms")
