"""Benchmark 2: cold start of each Lambda function.

A fresh interpreter imports the function's ``app.py`` the way the Lambda runtime does (which builds
what the module builds at init: routers, resolver, logger), then exits; against a bare
``python -c pass``. Wall time from spawn to exit, and the child's peak RSS. The environment mirrors
the template's Globals (no AWS call happens at import).

What is imported is the layer as shipped when `sam build` has run (``make bench`` builds first):
``.aws-sam/build-x86_64``'s layer and function directories on ``PYTHONPATH``, with ``python -S`` so nothing of
this venv's site-packages is seen (the standard library only, as in the runtime), and the bytecode
`make build` compiles into the build (the layer cannot write it on Lambda). Without a build it
falls back to this venv (``functions/<name>/app.py``), and the report says so.
"""
from __future__ import annotations

import functools
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .common import ROOT

FUNCTIONS = ("saml_metadata", "saml_login", "scim_push", "admin_api", "reconcile", "scim_server", "import_job", "audit_ship")
BUILD = ROOT / ".aws-sam" / "build-x86_64"  # the build this machine can run (make build makes it beside the arm64 one)
LAYER = BUILD / "SharedLayer" / "python"


@functools.lru_cache(maxsize=1)
def built_functions() -> dict[str, Path]:
    """function name (``functions/<name>``) -> its directory in ``sam build``'s output, from the template."""
    from idp_local.cfn import load_template

    out = {}
    for logical, res in load_template(ROOT / "template.yaml").get("Resources", {}).items():
        code = str((res.get("Properties") or {}).get("CodeUri") or "")
        if res.get("Type") == "AWS::Serverless::Function" and code.startswith("functions/"):
            out[code.strip("/").split("/")[1]] = BUILD / logical
    return out


def shipped() -> bool:
    """True when the cold starts are measured on `sam build`'s output (the layer as shipped)."""
    return LAYER.is_dir() and all((d / "app.py").is_file() for d in built_functions().values())
#: Budget above bare Python (ms) per the performance issue; functions without one are reported only.
TARGETS_MS = {"saml_metadata": 120.0, "saml_login": 250.0, "scim_push": 250.0, "admin_api": 250.0}

# Peak RSS is read from the child's own /proc/self/status (VmHWM) as it ends: `ru_maxrss` from wait4
# would include the memory of the (large) benchmark process the child was forked from, since Linux
# carries the pre-exec high-water mark over exec.
_REPORT_HWM = (
    "for _l in open('/proc/self/status'):\n"
    "    if _l.startswith('VmHWM:'):\n"
    "        print('VmHWM', _l.split()[1])\n"
)
_IMPORT_HANDLER = (
    "import importlib.util, sys\n"
    "spec = importlib.util.spec_from_file_location('app', sys.argv[1])\n"
    "module = importlib.util.module_from_spec(spec)\n"
    "sys.modules['app'] = module\n"
    "spec.loader.exec_module(module)\n"
    "assert callable(module.lambda_handler)\n"
) + _REPORT_HWM
# The layer (layers/shared/requirements.txt) does not ship awscrt; botocore imports it when it is
# installed (this venv has it), so it can be blocked to measure what Lambda would import.
_BLOCK_AWSCRT = (
    "import sys\n"
    "class _NoCrt:\n"
    "    def find_spec(self, name, path=None, target=None):\n"
    "        if name == 'awscrt' or name.startswith('awscrt.') or name == '_awscrt':\n"
    "            raise ImportError('awscrt is not in the Lambda layer')\n"
    "sys.meta_path.insert(0, _NoCrt())\n"
)


def lambda_env() -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("POWERTOOLS_", "AWS_", "PYTHONPATH"))}
    env.update({
        "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
        "POWERTOOLS_SERVICE_NAME": "officespace-idp", "POWERTOOLS_METRICS_NAMESPACE": "OfficeSpaceIdP",
        "LOG_LEVEL": "INFO", "TABLE_NAME": "bench-table",
        "EVENTS_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/bench.fifo",
        "SSM_PREFIX": "/bench", "ADMIN_TOKEN_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:bench",
        "PUBLIC_BASE_URL": "https://idp.example.com",
        "PYTHONDONTWRITEBYTECODE": "1",
    })
    env.pop("PYTHONPROFILEIMPORTTIME", None)
    return env


def command(name: str | None, variant: bool = False, build: Path | None = None) -> list[str]:
    """The child's command line: bare Python (`pass`, plus reading its own peak RSS) or the handler import.
    On the shipped build, `variant` imports from `build` (a copy without bytecode); on the venv, it blocks awscrt."""
    if not shipped():
        if name is None:
            return [sys.executable, "-c", "pass\n" + _REPORT_HWM]
        code = (_BLOCK_AWSCRT if variant else "") + _IMPORT_HANDLER
        return [sys.executable, "-c", code, str(ROOT / "functions" / name / "app.py")]
    if name is None:
        return [sys.executable, "-S", "-c", "pass\n" + _REPORT_HWM]
    root = build if variant and build else BUILD
    fdir = root / built_functions()[name].name
    # The function's directory first, then the layer, as the runtime has them (/var/task, then /opt/python).
    code = f"import sys; sys.path[:0] = [{str(fdir)!r}, {str(root / LAYER.relative_to(BUILD))!r}]\n" + _IMPORT_HANDLER
    return [sys.executable, "-S", "-c", code, str(fdir / "app.py")]


def run_once(name: str | None, env: dict | None = None, variant: bool = False, build: Path | None = None) -> tuple[float, int]:
    """(wall seconds, peak RSS in KiB) of one fresh process."""
    env = env or lambda_env()
    cmd = command(name, variant, build)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{name or 'bare python'} exited with {proc.returncode}: {proc.stderr[-2000:]}")
    m = re.search(r"VmHWM (\d+)", proc.stdout)
    return wall, int(m.group(1)) if m else 0


def bench_cold_start(name: str | None, n: int, variant: bool = False) -> dict:
    """Median wall time and peak RSS over n fresh processes (one untimed warm-up for the page cache)."""
    env = lambda_env()
    run_once(name, env, variant)
    walls, rss = [], []
    for _ in range(n):
        w, r = run_once(name, env, variant)
        walls.append(w)
        rss.append(r)
    return {"n": n, "median_ms": statistics.median(walls) * 1000, "min_ms": min(walls) * 1000,
            "max_ms": max(walls) * 1000, "peak_rss_mib": statistics.median(rss) / 1024}


def bench_all(n: int, names=FUNCTIONS) -> dict:
    """Every function, interleaved round by round with bare Python so drift hits all alike; and each again
    as a variant: on the shipped build, a copy of it without bytecode (what `sam build` alone ships); on the
    venv, without awscrt (which the layer does not ship)."""
    env = lambda_env()
    keys = [(None, False)] + [(name, False) for name in names] + [(name, True) for name in names]
    with tempfile.TemporaryDirectory(prefix="cold-nopyc-") as tmp:
        build = None
        if shipped():
            build = Path(tmp) / "build"
            shutil.copytree(BUILD, build, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        for name, variant in keys:
            run_once(name, env, variant, build)  # warm the page cache
        walls: dict = {k: [] for k in keys}
        rss: dict = {k: [] for k in keys}
        for _ in range(n):
            for name, variant in keys:
                w, r = run_once(name, env, variant, build)
                walls[(name, variant)].append(w)
                rss[(name, variant)].append(r)

    def row(k):
        return {"n": n, "median_ms": statistics.median(walls[k]) * 1000, "min_ms": min(walls[k]) * 1000,
                "max_ms": max(walls[k]) * 1000, "peak_rss_mib": statistics.median(rss[k]) / 1024}

    out = {"bare": row((None, False)), "shipped": shipped()}
    for name in names:
        out[name] = row((name, False))
        out[name]["no_bytecode" if shipped() else "no_awscrt"] = row((name, True))
    return out


_LINE = re.compile(r"import time:\s+(\d+)\s+\|\s+(\d+)\s+\|(\s*)(\S+)")


def _importtime_rows(name: str) -> list[tuple[str, int, float, float]]:
    """(module, depth, self ms, cumulative ms) from `python -X importtime`, in print order."""
    proc = subprocess.run([sys.executable, "-X", "importtime", *command(name)[1:]], cwd=ROOT, env=lambda_env(),
                          capture_output=True, text=True, timeout=120)
    rows = []
    for line in proc.stderr.splitlines():
        m = _LINE.match(line)
        if m:
            rows.append((m.group(4), (len(m.group(3)) - 1) // 2, int(m.group(1)) / 1000, int(m.group(2)) / 1000))
    return rows


def import_profile(name: str, top: int = 8) -> dict:
    """Where the import time of a handler goes (`python -X importtime`):

    - ``by_package``: self time summed per top-level package (adds up to the total);
    - ``idp_modules``: cumulative time of each of our modules at its first import (what it pulled in);
    - ``pulled_by``: for the heaviest third-party packages, which of our modules imported them first.
    """
    rows = _importtime_rows(name)
    total = sum(r[2] for r in rows)
    by_pkg: dict[str, float] = {}
    for module, _depth, self_ms, _cum in rows:
        pkg = module.split(".")[0]
        by_pkg[pkg] = by_pkg.get(pkg, 0.0) + self_ms
    # parents: importtime prints children before their parent (post-order); walk backwards with a stack.
    parent: dict[int, int | None] = {}
    stack: list[int] = []
    for i in range(len(rows) - 1, -1, -1):
        depth = rows[i][1]
        while stack and rows[stack[-1]][1] >= depth:
            stack.pop()
        parent[i] = stack[-1] if stack else None
        stack.append(i)
    pulled_by: dict[str, str] = {}
    for i, (module, _d, _s, _c) in enumerate(rows):
        pkg = module.split(".")[0]
        if pkg in ("idp", "app") or pkg in pulled_by:
            continue
        j = parent[i]
        while j is not None and not rows[j][0].startswith(("idp.", "app")):
            j = parent[j]
        if j is not None:
            pulled_by[pkg] = rows[j][0]
    heavy = sorted(((p, ms) for p, ms in by_pkg.items()), key=lambda kv: kv[1], reverse=True)[:top]
    idp_mods = sorted(((m, c) for m, _d, _s, c in rows if m.startswith("idp.")), key=lambda kv: kv[1],
                      reverse=True)[:top]
    return {"total_ms": total, "by_package": heavy, "idp_modules": idp_mods,
            "pulled_by": {p: pulled_by.get(p, "(runtime)") for p, _ in heavy}}
