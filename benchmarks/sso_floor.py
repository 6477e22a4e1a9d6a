"""Benchmark 6: the SSO round trip against its floor, side by side, and where its time goes.

The floor is what an SSO with a session cannot do without, each part measured in this run:
(a) the same uvicorn + powertools resolver answering a pre-built auto-POST page of the same size
    (no reads, no signing), under the same client;
(b) one BatchGetItem of the items an SSO must read fresh (session, user, direct binding) against
    the same embedded moto;
(c) building and signing the Response (timed inside the real round trips).

The SSO is measured as AWS runs it (issue 25 item 5): the template sets AUDIT_SSO_DELIVERY=log on the login
function, so its `sso` audit event is one line on stdout (idp.adapters.audit_shipping.ShippedAuditLog over
StdoutLines), which CloudWatch Logs' subscription hands to AuditShipFunction off the request path. Here stdout is
a pipe a thread drains (as Lambda's runtime reads it); every line is counted (one per SSO, or the run fails). The
same requests with the audit event written directly (AUDIT_SSO_DELIVERY=direct, `make run`'s default: one PutItem
in the request) are measured after, for comparison.

The stack runs in this process (so its parts can be timed: botocore `before-call`/`after-call`
hooks for each DynamoDB call, wrappers around the Response builder and the page renderer); the
client runs in a process of its own, so it does not compete with the server for the GIL.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections import defaultdict

from .common import ROOT, summary_ms

APP = "officespace"

WARMUP = 10  # requests the client sends before it measures (the server's parts count them too)

_CLIENT = """
import json, sys, time, requests
url, cookie, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
s = requests.Session()
h = {"Cookie": cookie} if cookie else {}
for _ in range(%d):
    s.get(url, headers=h, allow_redirects=False, timeout=30)
out = []
for _ in range(n):
    t0 = time.perf_counter()
    r = s.get(url, headers=h, allow_redirects=False, timeout=30)
    out.append(time.perf_counter() - t0)
    assert r.status_code == 200 and "SAMLResponse" in r.text, (r.status_code, r.text[:200])
print(json.dumps(out))
""" % WARMUP


def _client(url: str, cookie: str, n: int) -> list[float]:
    done = subprocess.run([sys.executable, "-c", _CLIENT, url, cookie, str(n)], cwd=ROOT, capture_output=True,
                          text=True, timeout=600)
    if done.returncode != 0:
        raise RuntimeError(f"the client failed: {done.stderr[-2000:]}")
    return json.loads(done.stdout)


def _purpose(op: str, body: bytes) -> str:
    """What a DynamoDB call was for, from the key it names."""
    if op == "BatchGetItem":
        return "batched reads (app revision, MFA policy, session; user, epoch, binding, factor index, memberships)"
    text = body.decode("utf-8", "replace")
    for marker, name in (("MEMBEROF#", "groups of the user"), ("BIND#GROUP#", "groups bound to the app"),
                         ("MFAPOLICY", "MFA policy"), ("MFA#", "MFA factors"), ("AUDIT", "audit log write"),
                         ("SESSION", "session"), ("USER#", "user"), ("BIND#USER#", "direct binding"),
                         ("APP#", "app"), ("REPLAY", "replay cache")):
        if marker in text:
            return name
    return f"other {op}"


class Parts:
    """Server-side time of the parts, summed over the measured requests."""

    def __init__(self):
        self.lock = threading.Lock()
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        self.on = False

    def add(self, name: str, seconds: float) -> None:
        if self.on:
            with self.lock:
                self.seconds[name] += seconds
                self.calls[name] += 1

    def install(self, session) -> None:
        def before(model, params, context, **_):
            context["floor_t0"] = time.perf_counter()
            context["floor_body"] = params.get("body") or b""

        def after(model, context, **_):
            if model.service_model.endpoint_prefix == "dynamodb" and "floor_t0" in context:
                self.add("DynamoDB: " + _purpose(model.name, context["floor_body"]), time.perf_counter() - context["floor_t0"])

        session.events.register("before-call", before)
        session.events.register("after-call", after)

    def wrap(self, module, attr: str, name: str) -> None:
        original = getattr(module, attr)

        def timed(*args, **kwargs):
            t0 = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.add(name, time.perf_counter() - t0)

        setattr(module, attr, timed)


def _floor_server(page: str, port: int):
    """uvicorn + the same powertools resolver, answering the pre-built page (no reads, no signing)."""
    import uvicorn
    from aws_lambda_powertools.event_handler.api_gateway import Router

    from idp.web.forms import POST_FORM_CSP
    from idp.web.pages import html
    from idp.web.resolver import local_app

    router = Router()

    @router.get("/floor")
    def floor():
        return html(200, page, csp=POST_FORM_CSP)

    server = uvicorn.Server(uvicorn.Config(local_app(router), host="127.0.0.1", port=port, log_level="warning",
                                           lifespan="off"))
    threading.Thread(target=server.run, daemon=True).start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    return server


class Stdout:
    """A pipe standing in for the function's stdout, drained by a thread as Lambda's runtime drains it."""

    def __init__(self) -> None:
        read, write = os.pipe()
        self.stream = os.fdopen(write, "w", encoding="utf-8")
        self._read = os.fdopen(read, "rb")
        self.lines = 0
        self._thread = threading.Thread(target=self._drain, daemon=True)
        self._thread.start()

    def _drain(self) -> None:
        for line in self._read:
            if line.startswith(b'{"idp_audit":'):
                self.lines += 1

    def close(self) -> None:
        self.stream.close()
        self._thread.join(timeout=10)


def run(n: int = 300) -> dict:
    import boto3

    from benchmarks.aws_calls import InProcessStack, login
    from idp.adapters import directory_keys
    from idp.adapters.audit_shipping import ShippedAuditLog, StdoutLines
    from idp.adapters.signon_state import SignonState
    from idp.app import sso
    from idp.bootstrap import container
    from idp.web import sso_routes
    from idp_testing.stack import free_port

    boto3.setup_default_session()
    parts, direct_parts = Parts(), Parts()
    parts.install(boto3.DEFAULT_SESSION)
    direct_parts.install(boto3.DEFAULT_SESSION)
    parts.wrap(sso, "build_response", "build and sign the Response")
    parts.wrap(sso_routes, "render_post_form", "render the auto-POST page")
    stack = InProcessStack()
    stack.start()
    floor_server = None
    stdout = Stdout()
    try:
        browser = login(stack.base)
        cookie = "; ".join(f"{k}={v}" for k, v in browser.cookies.items())
        page = browser.get(f"/saml2/{APP}").text
        # as AWS runs it: the SSO's audit event one line on stdout (what Container.sso_audit builds with
        # AUDIT_SSO_DELIVERY=log and no spool), here a drained pipe
        use_case = container().sso
        direct_sink = use_case.audit
        shipped_sink = ShippedAuditLog(container().audit, StdoutLines(stdout.stream), metrics=container().audit.metrics)
        # the two deliveries in alternating halves, so neither gets the quieter half of the run to itself
        real: list[float] = []
        direct: list[float] = []
        halves = [n // 2, n - n // 2] if n > 1 else [n]
        for half in halves:
            use_case.audit = shipped_sink
            parts.on = True
            real += _client(f"{stack.base}/saml2/{APP}", cookie, half)
            parts.on = False
            use_case.audit = direct_sink  # AUDIT_SSO_DELIVERY=direct, for comparison
            direct_parts.on = True
            direct += _client(f"{stack.base}/saml2/{APP}", cookie, half)
            direct_parts.on = False
        stdout.close()
        served = n + WARMUP * len(halves)  # requests each delivery answered, its warm-ups included
        if stdout.lines != served:
            raise RuntimeError(f"{stdout.lines} audit lines for {served} SSOs")
        # (a) the framework floor, under the same client
        port = free_port()
        floor_server = _floor_server(page, port)
        framework = _client(f"http://127.0.0.1:{port}/floor", "", n)
        # (b) one BatchGetItem of session, user and binding against the same moto
        session_id = next(v for k, v in browser.cookies.items() if k.endswith("idp_session"))
        uid = container().signon.signed_in(session_id).user["id"]
        table = container().table
        keys = [SignonState.session_key(session_id), directory_keys.user_key(uid), directory_keys.user_binding_key(APP, uid)]
        batch = []
        for i in range(n + 10):
            t0 = time.perf_counter()
            table.meta.client.batch_get_item(RequestItems={table.name: {"Keys": keys, "ConsistentRead": True}})
            if i >= 10:
                batch.append(time.perf_counter() - t0)
        sign_s = parts.seconds["build and sign the Response"] / max(1, parts.calls["build and sign the Response"])
        real_ms, framework_ms, batch_ms = summary_ms(real), summary_ms(framework), summary_ms(batch)
        direct_ms = summary_ms(direct)
        floor_ms = framework_ms["median_ms"] + batch_ms["median_ms"] + sign_s * 1000
        server_ms = {name: s * 1000 / served for name, s in parts.seconds.items()}
        calls = {name: c / served for name, c in parts.calls.items()}
        accounted = sum(server_ms.values())
        server_ms["framework, cookies, checks and everything else"] = max(0.0, real_ms["median_ms"] - accounted)
        direct_audit_ms = direct_parts.seconds.get("DynamoDB: audit log write", 0.0) * 1000 / served
        return {"n": n, "real": real_ms, "framework": framework_ms, "batch_get": batch_ms, "sign_ms": sign_s * 1000,
                "floor_ms": floor_ms, "ratio": real_ms["median_ms"] / floor_ms, "parts_ms": server_ms, "calls": calls,
                "audit_delivery": "log", "audit_lines": stdout.lines, "direct": direct_ms,
                "direct_ratio": direct_ms["median_ms"] / floor_ms, "direct_audit_write_ms": direct_audit_ms,
                "p95_over_p50": real_ms["p95_ms"] / real_ms["median_ms"],
                "dynamodb_calls_per_request": sum(c for name, c in calls.items() if name.startswith("DynamoDB"))}
    finally:
        if not stdout.stream.closed:
            stdout.close()
        if floor_server:
            floor_server.should_exit = True
        stack.stop()


def render(r: dict, out: list[str], targets=None) -> None:
    out.append("## 5. The SSO round trip against its floor\n")
    if "error" in r:
        out.append(f"Not measured: `{r['error']}`\n")
        return
    if targets is not None:
        p50, ratio = r["real"]["median_ms"], r["ratio"]
        targets.add("SSO with a session (audit event as a log line, as AWS runs it): p50 ≤ 1.5× its floor", f"{ratio:.2f}× ({p50:.1f} ms)", ratio <= 1.5,
                    "" if ratio <= 1.5 else f"{ratio / 1.5:.2f}× over the budget")
        targets.add("SSO with a session: p50 ≤ 15 ms", f"{p50:.1f} ms", p50 <= 15, "" if p50 <= 15 else f"+{p50 - 15:.1f} ms")
        targets.add("SSO with a session: p95 ≤ 2× p50", f"{r['p95_over_p50']:.2f}×", r["p95_over_p50"] <= 2)
    real, fw, bg = r["real"], r["framework"], r["batch_get"]
    out.append("An SSO with an existing session (`GET /saml2/officespace` → signed auto-POST page), sequential, the "
               "client in a process of its own; the stack in the benchmark's process so its parts can be timed. As AWS "
               "runs it: the `sso` audit event is one `{\"idp_audit\": ...}` line on stdout (AUDIT_SSO_DELIVERY=log, "
               "which the template sets on the login function; here stdout is a pipe a thread drains), which the log "
               "group's subscription hands to AuditShipFunction off the request path. The floor is measured in the same "
               "run: (a) the same uvicorn + powertools resolver answering a pre-built page of the same size, (b) one "
               "`BatchGetItem` of session, user and binding against the same embedded moto, (c) building and signing "
               "the Response.\n")
    out.append("| | p50 | p95 |")
    out.append("|---|---:|---:|")
    out.append(f"| (a) framework floor: pre-built page | {fw['median_ms']:.2f} ms | {fw['p95_ms']:.2f} ms |")
    out.append(f"| (b) one BatchGetItem (session, user, binding) | {bg['median_ms']:.2f} ms | {bg['p95_ms']:.2f} ms |")
    out.append(f"| (c) build and sign the Response | {r['sign_ms']:.2f} ms | |")
    out.append(f"| **floor** (a + b + c) | **{r['floor_ms']:.2f} ms** | |")
    out.append(f"| **SSO round trip** (audit event as a log line, as AWS runs it) | **{real['median_ms']:.2f} ms** | "
               f"{real['p95_ms']:.2f} ms |")
    if "direct" in r:
        out.append(f"| SSO round trip, audit event written in the request (AUDIT_SSO_DELIVERY=direct, `make run`) | "
                   f"{r['direct']['median_ms']:.2f} ms | {r['direct']['p95_ms']:.2f} ms |")
    out.append("")
    out.append(f"Round trip ÷ floor: **{r['ratio']:.2f}×** (target ≤ 1.5× and ≤ 15 ms); p95 ÷ p50: {r['p95_over_p50']:.2f} "
               f"(target ≤ 2); {r['dynamodb_calls_per_request']:.1f} DynamoDB calls a request (none a write).\n")
    if "direct" in r:
        out.append(f"With the audit event written in the request instead (one PutItem, {r['direct_audit_write_ms']:.2f} ms "
                   f"here) the round trip is {r['direct_ratio']:.2f}× the floor. Off the request path the event reaches "
                   "the table through CloudWatch Logs' subscription: in AWS typically within seconds (not measured here; "
                   "locally the spool's shipper, every 0.25 s); tests/e2e/test_audit_shipping_kill.py proves no event is "
                   "lost when the process is killed right after answering, and that it is readable within 5 s.\n")
    out.append("Where a round trip's server time goes (ms per request, summed over the run ÷ requests; the last row is the "
               "p50 round trip minus the timed parts: uvicorn, the resolver, cookies, the AuthnRequest-free checks, logging):\n")
    out.append("| part | ms | calls |")
    out.append("|---|---:|---:|")
    for name, ms in sorted(r["parts_ms"].items(), key=lambda kv: -kv[1]):
        out.append(f"| {name} | {ms:.2f} | {r['calls'].get(name, 0):.1f} |")
    out.append("")


def main() -> int:
    import contextlib
    import io
    import logging

    logging.disable(logging.WARNING)
    with contextlib.redirect_stdout(io.StringIO()):
        r = run(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
    out: list[str] = []
    render(r, out)
    print("\n".join(out))
    print(json.dumps({k: v for k, v in r.items() if k in ("ratio", "floor_ms")}), file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

