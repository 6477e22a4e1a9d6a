"""Benchmark 7: a load test with locust. The local stack (`python -m idp_local`, its own process) under
a bounded mix for a fixed time: browsers doing SSO with their session (6 of 10 users), full logins
(2 of 10) and an administrator reading the directory (2 of 10). The report gives p50/p95 per request
kind and for the mix, the failures (none allowed), and the CPU the stack's process used (from
/proc/<pid>/stat: user + system time over wall time; 2.0 would be both cores)."""
from __future__ import annotations

import csv
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .common import ROOT
from .sso import ADMIN_TOKEN, start_stack, stop_stack


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def run(users: int = 10, seconds: int = 20) -> dict:
    stack = start_stack()
    try:
        prefix = Path(tempfile.mkdtemp(prefix="locust-")) / "load"
        cmd = [sys.executable, "-m", "locust", "-f", str(ROOT / "benchmarks" / "locustfile.py"), "--headless",
               "-u", str(users), "-r", str(users), "-t", f"{seconds}s", "--host", stack.base_url, "--csv", str(prefix),
               "--only-summary", "--stop-timeout", "5", "--exit-code-on-error", "0"]
        cpu0, t0 = _cpu_seconds(stack.proc.pid), time.monotonic()
        done = subprocess.run(cmd, cwd=ROOT, env={**os.environ, "LOAD_ADMIN_TOKEN": ADMIN_TOKEN}, capture_output=True,
                              text=True, timeout=seconds + 120)
        wall, cpu = time.monotonic() - t0, _cpu_seconds(stack.proc.pid) - cpu0
        if done.returncode != 0:
            raise RuntimeError(f"locust exited with {done.returncode}: {done.stderr[-2000:]}")
        rows = {}
        with open(f"{prefix}_stats.csv") as fh:
            for row in csv.DictReader(fh):
                rows[row["Name"]] = {"requests": int(row["Request Count"]), "failures": int(row["Failure Count"]),
                                     "p50_ms": float(row["50%"] or 0), "p95_ms": float(row["95%"] or 0),
                                     "rps": float(row["Requests/s"] or 0)}
        return {"users": users, "seconds": seconds, "rows": rows, "stack_cpu": cpu / wall,
                "failures": sum(r["failures"] for name, r in rows.items() if name != "Aggregated")}
    finally:
        stop_stack(stack)


def render(r: dict, out: list[str]) -> None:
    out.append("## 6. Load test (locust)\n")
    if "error" in r:
        out.append(f"Not measured: `{r['error']}`\n")
        return
    out.append(f"`benchmarks/locustfile.py` against the local stack for {r['seconds']} s with {r['users']} users "
               "(6 of 10 SSO with their session, 2 of 10 full logins, 2 of 10 an administrator reading users and apps; "
               "0-50 ms think time). locust runs in its own process on the same 2 cores, so it takes CPU from the stack. "
               f"The stack's process used **{r['stack_cpu']:.2f} cores** on average; failures: **{r['failures']}**.\n")
    out.append("| request | requests | failures | p50 | p95 | req/s |")
    out.append("|---|---:|---:|---:|---:|---:|")
    for name, row in sorted(r["rows"].items(), key=lambda kv: (kv[0] == "Aggregated", kv[0])):
        label = "**the mix**" if name == "Aggregated" else f"`{name}`"
        out.append(f"| {label} | {row['requests']} | {row['failures']} | {row['p50_ms']:.0f} ms | {row['p95_ms']:.0f} ms | {row['rps']:.1f} |")
    out.append("")
