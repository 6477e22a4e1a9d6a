"""Smoke test of the benchmarks (`make bench`): each benchmark function runs with n=2 and returns
numbers. No timing is asserted: the numbers are for docs/benchmarks.md, not for the suite."""
from __future__ import annotations

import contextlib
import io
import math

import pytest


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _timing(d: dict, n: int = 2) -> None:
    assert d["n"] == n
    for key in ("median_ms", "p95_ms", "min_ms", "mean_ms"):
        assert _number(d[key]) and d[key] >= 0, (key, d)


def test_saml_response_ours_and_floor():
    from benchmarks import saml_response

    _timing(saml_response.bench_ours(2))
    _timing(saml_response.bench_floor(2))
    from benchmarks import saml_prototype

    _timing(saml_prototype.bench_prototype(2))
    rows = saml_response.profile_ours(2)
    assert rows and all(_number(cum) and _number(own) for _, cum, own in rows)


def test_saml_response_pysaml2():
    from benchmarks import saml_response

    # `make test` installs Debian's xmlsec1 (system-deps), so pysaml2 must be usable here.
    assert saml_response.pysaml2_available() is None
    _timing(saml_response.bench_pysaml2(2))


def test_cold_start_bare_and_a_function():
    from benchmarks import cold_start

    bare = cold_start.bench_cold_start(None, 2)
    push = cold_start.bench_cold_start("scim_push", 2)
    for d in (bare, push):
        assert d["n"] == 2 and _number(d["median_ms"]) and d["median_ms"] > 0
        assert _number(d["peak_rss_mib"]) and d["peak_rss_mib"] > 0
    profile = cold_start.import_profile("saml_metadata")
    assert _number(profile["total_ms"]) and profile["by_package"]


def test_report_renders_partial_results():
    from benchmarks.common import machine, versions
    from benchmarks.report import render

    text = render({"quick": True, "sizes": {}, "machine": machine(), "versions": versions(), "started": "now",
                   "total_s": 1.0, "saml": {"error": "boom"}})
    assert "# Benchmarks" in text and "boom" in text


@pytest.mark.e2e
def test_sso_through_the_local_stack():
    from benchmarks import sso

    stack = sso.start_stack()
    try:
        _timing(sso.bench_roundtrip(stack.base_url, 2))
        for timing in sso.bench_full_login_and_hash(stack.base_url, 2):
            _timing(timing)
        tp = sso.bench_throughput(stack.base_url, 0.5, clients=2)
        assert tp["requests"] > 0 and _number(tp["rps"])
    finally:
        sso.stop_stack(stack)


def test_provisioning_sync_update_noop():
    from benchmarks import provisioning

    with contextlib.redirect_stdout(io.StringIO()):
        out = provisioning.bench_sync(2, 2)
    a = out["initial"]
    assert a["ours_requests"] == a["minimum_requests"] == a["bare_requests"] == 6  # 2 lists + 2 users + 2 groups
    assert _number(a["ours_s"]) and _number(a["bare_s"])
    assert out["update"]["ours_requests"] == 2
    assert out["noop"]["ours_requests"] == 0
    assert _number(a["layers"]["aws_s"])


def test_provisioning_rate_limited():
    from benchmarks import provisioning

    with contextlib.redirect_stdout(io.StringIO()):
        d = provisioning.bench_rate_limited(2, 1, rate=100)
    assert d["ours_requests"] >= d["minimum_requests"] == 5
    assert _number(d["total_s"]) and _number(d["floor_s"])


def test_minimum_initial_requests():
    from benchmarks.provisioning import minimum_initial_requests

    assert minimum_initial_requests(1000, [100] * 10) == 1 + 1000 + 1 + 10
    assert minimum_initial_requests(250, [250]) == 1 + 250 + 1 + 1 + 2  # POST with 100, 2 PATCHes
    assert minimum_initial_requests(0, [0]) == 2


def test_provisioning_scale():
    from benchmarks import provisioning
    from benchmarks.report import render

    with contextlib.redirect_stdout(io.StringIO()):
        e = provisioning.bench_scale(4, 2, noop_events=3)
    assert e["ours_requests"] == e["minimum_requests"] == 8  # 2 lists + 4 users + 2 groups
    assert e["noop"]["requests"] == 0 and e["noop"]["events"] == 3
    assert _number(e["peak_mib"]) and e["layers"]["aws_calls"] > 0
    text = render({"quick": True, "sizes": {}, "machine": {}, "versions": {}, "started": "now", "prov": {"scale": e}})
    assert "(e) scale" in text and "DynamoDB calls per user" in text


@pytest.mark.e2e
def test_convergence_after_a_burst_is_measured():
    """One small burst over the local stack: the SP is compared with the directory until they agree (or
    the time runs out: no timing is asserted, only that the run measured something and renders)."""
    from benchmarks import convergence
    from benchmarks.report import render

    r = convergence.run(runs=1, users=10, timeout=15)
    row = r["runs"][0]
    assert row["admin_calls"] > 30 and row["sp_requests"] > 0, row  # the burst went through, the SP was pushed to
    assert (row["seconds"] is None and row["problem"]) or (_number(row["seconds"]) and row["seconds"] >= 0), row
    assert r["converged"] == (row["seconds"] is not None) and isinstance(r["met"], bool)
    text = render({"quick": True, "sizes": {}, "machine": {}, "versions": {}, "started": "now", "converge": r})
    assert "## 8. Convergence" in text and "Convergence: SP equals the directory" in text
    text = render({"quick": True, "sizes": {}, "machine": {}, "versions": {}, "started": "now",
                   "converge": {"error": "boom"}})
    assert "boom" in text


def _in_own_process(module: str, n: int) -> dict:
    """`benchmarks.<module>.run(n)` in a fresh interpreter (it starts the local stack in its process, setting
    the environment and the container), its result as JSON."""
    import json
    import subprocess
    import sys

    from benchmarks.common import ROOT

    code = ("import json, logging, contextlib, io, sys; logging.disable(logging.WARNING)\n"
            f"from benchmarks import {module}\n"
            f"with contextlib.redirect_stdout(io.StringIO()):\n    r = {module}.run({n})\n"
            "sys.stdout.write(json.dumps(r))\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


def test_request_units_follow_dynamodbs_rounding():
    from benchmarks.aws_calls import read_units, write_units

    assert read_units(10) == 0.5 and read_units(4096) == 0.5 and read_units(4097) == 1.0
    assert read_units(10, consistent=True) == 1.0 and read_units(10, transactional=True) == 2.0
    assert write_units(1) == 1.0 and write_units(1025) == 2.0 and write_units(10, transactional=True) == 2.0


def test_aws_calls_per_operation_are_counted():
    """The count runs the local stack in a process of its own (it sets the environment and the container)."""
    calls = _in_own_process("aws_calls", 2)
    for op in ("metadata", "full_login", "sso_session", "admin_change", "user_pushed", "noop_event"):
        assert calls[op]["dynamodb"] >= 1, (op, calls[op])
    assert calls["metadata"]["wru"] == 0  # serving metadata writes nothing
    assert calls["noop_event"]["wru"] == 0  # a no-op event writes nothing to DynamoDB
    assert calls["admin_change"]["ops"].get("sqs.SendMessageBatch", 0) + calls["admin_change"]["ops"].get("sqs.SendMessage", 0) >= 1
    out: list[str] = []
    from benchmarks.aws_calls import render

    render(calls, None, None, out)
    assert any("initial sync of 100,000 users" in line for line in out)


def test_sso_floor_is_measured_and_broken_down():
    """The floor benchmark runs the stack in a process of its own here too (it sets the environment)."""
    r = _in_own_process("sso_floor", 5)
    for part in ("real", "framework", "batch_get"):
        _timing(r[part], 5)
    assert _number(r["floor_ms"]) and r["floor_ms"] > 0 and _number(r["ratio"])
    assert r["dynamodb_calls_per_request"] >= 1 and "build and sign the Response" in r["parts_ms"]
    # measured as AWS runs it: the audit event one stdout line a request, no DynamoDB write in it; direct beside it
    assert r["audit_delivery"] == "log" and r["audit_lines"] == 5 + 2 * 10  # measured requests, two halves' warm-ups
    assert not [name for name in r["parts_ms"] if "audit log write" in name]
    _timing(r["direct"], 5)
    assert _number(r["direct_ratio"]) and r["direct_audit_write_ms"] > 0
    out: list[str] = []
    from benchmarks.sso_floor import render

    render(r, out)
    assert any("floor" in line for line in out)


def test_load_test_runs_locust_against_the_stack():
    from benchmarks import load

    r = load.run(users=2, seconds=3)
    assert r["failures"] == 0, r["rows"]
    assert r["rows"]["Aggregated"]["requests"] > 0 and _number(r["stack_cpu"]) and r["stack_cpu"] > 0
    out: list[str] = []
    load.render(r, out)
    assert any("the mix" in line for line in out)


@pytest.mark.e2e
def test_csv_import_is_measured_on_the_local_stack():
    r = _in_own_process("csv_import", 30)
    assert r["status"] == "done" and r["applied"] == 30 and r["summary"]["create"] == 30
    assert _number(r["preview_s"]) and _number(r["users_per_s"]) and r["users_per_s"] > 0
    assert r["writes"]["users"] == 30 and 0 < r["writes"]["per_user"] <= 3
    out: list[str] = []
    from benchmarks.csv_import import render

    render(r, out)
    assert any("users applied per second" in line for line in out)


def test_scim_server_requests_are_timed_and_counted():
    """The SCIM server's section runs the stack in a process of its own too; every kind of request answered as
    expected (the client checks each status), timed, and its AWS calls counted."""
    from benchmarks import scim_server

    r = _in_own_process("scim_server", 2)
    assert r["n"] == 2 and r["warmup"] == 2
    for kind, _label, _target in scim_server.KINDS:
        row = r["rows"][kind]
        _timing(row)
        assert row["dynamodb"] >= 1 and _number(row["aws_ms"]) and row["aws_ms"] > 0, (kind, row)
    for kind in ("create", "admin_create", "deactivate"):
        assert r["rows"][kind]["wru"] > 0 and r["rows"][kind]["sqs"] >= 1, (kind, r["rows"][kind])  # a write queues its event
    for kind in ("filter", "get"):
        assert r["rows"][kind]["wru"] == 0, (kind, r["rows"][kind])  # a read writes nothing
    out: list[str] = []
    scim_server.render(r, out)
    assert any(line.startswith("| `POST /scim/v2/Users` (user create) | 2 |") for line in out)


def test_heat_table_finds_the_partition_keys_of_each_operation():
    """The heat table runs the local stack in a process of its own; an SSO with a session reads nothing of the
    app's partition per request (its REV is kept a second by the container, the binding read under the user)."""
    from benchmarks import heat

    assert heat.item_size({"pk": {"S": "USER#1"}, "n": {"N": "12345"}}) == 2 + 6 + 1 + 3
    assert heat._queried_key({"KeyConditionExpression": "#p = :p AND begins_with(#s, :s)",
                              "ExpressionAttributeNames": {"#p": "gsi1pk", "#s": "gsi1sk"},
                              "ExpressionAttributeValues": {":p": {"S": "USERS"}, ":s": {"S": "u"}}}, "gsi1pk") == "USERS"
    assert heat._family("AUDIT#2026-12-07#a")[0] == "AUDIT#2026-12-07#{shard}" and heat._family("USER#abc") == ("USER#abc", 1)
    r = _in_own_process("heat", 2)
    for op in ("sso_session", "full_login", "admin_change", "user_pushed"):
        assert r[op]["indexes"]["table"]["top"] and _number(r[op]["ops_per_second"]), (op, r[op])
    sso = r["sso_session"]["indexes"]
    assert not [row for row in sso["table"]["top"] if row["pk"] == "APP#officespace" and row["reads"] >= 1], sso["table"]
    assert sso["gsi2"]["hot_write"]["pk"].startswith("AUDIT#APP#officespace#") and sso["gsi2"]["hot_write"]["shards"] == 16
    out: list[str] = []
    targets = heat.render(r, out)
    assert any(line.startswith("| SSO with a session |") for line in out) and len(targets) == 2
    from benchmarks.aws_calls import binds_first

    assert "SSO with a session a second" in binds_first(r) and "partitions" in binds_first(None)
