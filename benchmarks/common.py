"""Shared helpers: statistics, timing, the machine and versions, quick mode."""
from __future__ import annotations

import math
import os
import platform
import statistics
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[1]


def quick() -> bool:
    """BENCH_QUICK=1: small sizes (a fast, rough run)."""
    return os.environ.get("BENCH_QUICK", "0") not in ("", "0", "false", "no")


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100) of a non-empty list."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    # The smallest value with at least p % of the values at or below it: rank ceil(p/100 * n), 1-based.
    # (round(x + 0.5) was here: Python rounds halves to even, so every odd rank came out one too high.)
    k = max(0, min(len(ordered) - 1, math.ceil(p * len(ordered) / 100) - 1))
    return ordered[k]


def summary_ms(seconds: list[float]) -> dict:
    """median / p95 / min / mean in milliseconds, plus n."""
    ms = [s * 1000 for s in seconds]
    return {
        "n": len(ms),
        "median_ms": statistics.median(ms),
        "p95_ms": percentile(ms, 95),
        "min_ms": min(ms),
        "mean_ms": statistics.fmean(ms),
    }


def time_calls(fn: Callable[[], object], n: int, warmup: int = 3) -> list[float]:
    """Wall time (perf_counter seconds) of n calls of fn after `warmup` untimed calls."""
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b == 0:
        return None
    return a / b


def version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def xmlsec1_version() -> str:
    try:
        out = subprocess.run(["xmlsec1", "--version"], capture_output=True, text=True, timeout=10)
        return out.stdout.strip() or out.stderr.strip()
    except (OSError, subprocess.SubprocessError):
        return "not installed"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def mem_total() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                kb = int(line.split()[1])
                return f"{kb / 1024 / 1024:.1f} GiB"
    except (OSError, ValueError):
        pass
    return "unknown"


def os_name() -> str:
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                return line.split("=", 1)[1].strip('"')
    except OSError:
        pass
    return platform.platform()


def machine() -> dict:
    load = os.getloadavg() if hasattr(os, "getloadavg") else (0, 0, 0)
    return {
        "os": os_name(),
        "kernel": platform.release(),
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "memory": mem_total(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "load_at_start": "{:.2f} {:.2f} {:.2f}".format(*load),
    }


def versions() -> dict:
    names = ["python3-saml", "xmlsec", "lxml", "cryptography", "pysaml2", "aws-lambda-powertools", "boto3",
             "moto", "scim2-server", "requests", "uvicorn", "argon2-cffi"]
    out = {n: version(n) for n in names}
    out["xmlsec1 (Debian binary)"] = xmlsec1_version()
    return out


def fmt_ms(v: float | None, digits: int = 2) -> str:
    return "n/a" if v is None else f"{v:.{digits}f} ms"


def fmt_x(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.2f}×"


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)
