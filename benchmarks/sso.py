"""Benchmark 3: SSO through the local HTTP stack (`python -m idp_local`: uvicorn, the same powertools
routes as Lambda, moto on loopback as DynamoDB/SSM, the OfficeSpace stand-in as the SP).

- SSO round trip with an existing IdP session: ``GET /saml2/officespace`` (IdP-initiated) with the
  session cookie, answered by the auto-POST form carrying a signed Response. Latency (sequential)
  and requests per second (a few concurrent clients for a fixed time).
- Full login: ``GET /saml2/officespace`` (302 to the login page) → ``GET /login?state=…`` →
  ``POST /login`` (password hash check, session, signed Response) → the auto-POST form.

The client runs on the same machine, so it takes CPU from the server; the stack logs each request
as it does under ``make run``.
"""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import requests

from .common import ROOT, summary_ms

APP = "officespace"
USERNAME, PASSWORD = "alice", "sunrise-demo-Pass1"
ADMIN_TOKEN = "bench-admin-token-0123456789abcdef"

_HIDDEN = re.compile(r'<input[^>]*name="(login|csrf)"[^>]*value="([^"]*)"', re.I)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Stack:
    proc: subprocess.Popen
    base_url: str
    log_path: Path
    startup_seconds: float

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace")


def start_stack(timeout: float = 120) -> Stack:
    """`python -m idp_local` with DEMO=1 STANDIN=1 on free ports; waits for /healthz."""
    port, standin_port = _free_port(), _free_port()
    env = {**os.environ, "PORT": str(port), "STANDIN_PORT": str(standin_port), "HOST": "127.0.0.1",
           "DEMO": "1", "STANDIN": "1", "ADMIN_TOKEN": ADMIN_TOKEN, "PYTHONUNBUFFERED": "1",
           "LOG_LEVEL": os.environ.get("BENCH_STACK_LOG_LEVEL", "INFO")}
    env.pop("AWS_ENDPOINT_URL", None)
    log_path = Path(tempfile.mkstemp(prefix="bench-stack-", suffix=".log")[1])
    log = open(log_path, "w")
    t0 = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "idp_local"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    while time.monotonic() - t0 < timeout:
        if proc.poll() is not None:
            raise RuntimeError(f"the local stack exited with {proc.returncode}:\n{log_path.read_text()[-3000:]}")
        try:
            if requests.get(f"{base}/healthz", timeout=1).status_code == 200:
                return Stack(proc, base, log_path, time.monotonic() - t0)
        except requests.RequestException:
            pass
        time.sleep(0.2)
    stop_stack(Stack(proc, base, log_path, 0))
    raise TimeoutError(f"the local stack was not healthy after {timeout}s:\n{log_path.read_text()[-3000:]}")


def stop_stack(stack: Stack) -> None:
    if stack.proc.poll() is None:
        stack.proc.send_signal(signal.SIGINT)
        try:
            stack.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            stack.proc.kill()
            stack.proc.wait()


# ------------------------------------------------------------------ one browser
class Browser:
    """A minimal browser: keeps cookies itself (the IdP's are `Secure`, which `requests` would not
    send over plain http), follows nothing on its own."""

    def __init__(self, base_url: str):
        self.base = base_url
        self.http = requests.Session()
        self.cookies: dict[str, str] = {}

    def _headers(self) -> dict:
        return {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())} if self.cookies else {}

    def _keep(self, resp: requests.Response) -> None:
        for c in resp.cookies:
            if c.value:
                self.cookies[c.name] = c.value
            else:
                self.cookies.pop(c.name, None)

    retries = 0  # GETs sent again after the server closed a kept-alive connection (as browsers do)

    def get(self, path: str) -> requests.Response:
        try:
            resp = self.http.get(self.base + path, headers=self._headers(), allow_redirects=False, timeout=30)
        except requests.ConnectionError:
            Browser.retries += 1
            resp = self.http.get(self.base + path, headers=self._headers(), allow_redirects=False, timeout=30)
        self._keep(resp)
        return resp

    def post(self, path: str, data: dict) -> requests.Response:
        resp = self.http.post(self.base + path, data=data, headers=self._headers(), allow_redirects=False, timeout=30)
        self._keep(resp)
        return resp


def _hidden_fields(html: str) -> dict:
    return {name: value for name, value in _HIDDEN.findall(html)}


def _is_saml_form(resp: requests.Response) -> bool:
    return resp.status_code == 200 and 'name="SAMLResponse"' in resp.text


def full_login(base_url: str) -> tuple[Browser, float]:
    """IdP-initiated SSO for a browser without a session; returns the browser (now holding a session
    cookie) and the wall time of the three requests."""
    b = Browser(base_url)
    t0 = time.perf_counter()
    r1 = b.get(f"/saml2/{APP}")
    if r1.status_code != 302 or "/login" not in r1.headers.get("Location", ""):
        raise RuntimeError(f"GET /saml2/{APP} without a session answered {r1.status_code}, not a redirect to /login")
    r2 = b.get(r1.headers["Location"])
    fields = _hidden_fields(r2.text)
    if r2.status_code != 200 or "login" not in fields or "csrf" not in fields:
        raise RuntimeError(f"GET /login answered {r2.status_code} without the hidden login/csrf fields")
    r3 = b.post("/login", {**fields, "username": USERNAME, "password": PASSWORD})
    elapsed = time.perf_counter() - t0
    if not _is_saml_form(r3):
        raise RuntimeError(f"POST /login answered {r3.status_code}, not the auto-POST form: {r3.text[:300]}")
    if not any(name.endswith("idp_session") for name in b.cookies.keys()):
        raise RuntimeError("POST /login set no idp_session cookie")
    return b, elapsed


def sso_once(b: Browser) -> None:
    r = b.get(f"/saml2/{APP}")
    if not _is_saml_form(r):
        raise RuntimeError(f"GET /saml2/{APP} with a session answered {r.status_code}, not the auto-POST form")


def bench_roundtrip(base_url: str, n: int) -> dict:
    """Sequential SSO round trips with an existing session: latency."""
    b, _ = full_login(base_url)
    for _ in range(5):
        sso_once(b)
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        sso_once(b)
        times.append(time.perf_counter() - t0)
    return summary_ms(times)


def bench_throughput(base_url: str, seconds: float, clients: int = 4) -> dict:
    """SSO round trips per second with `clients` concurrent browsers (each with its own session)."""
    browsers = [full_login(base_url)[0] for _ in range(clients)]
    stop = threading.Event()
    counts = [0] * clients
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors: list[str] = []

    def worker(i: int) -> None:
        b = browsers[i]
        while not stop.is_set():
            t0 = time.perf_counter()
            try:
                sso_once(b)
            except Exception as exc:  # noqa: BLE001
                errors.append(str(exc))
                return
            latencies[i].append(time.perf_counter() - t0)
            counts[i] += 1

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    time.sleep(seconds)
    stop.set()
    for t in threads:
        t.join(timeout=30)
    elapsed = time.perf_counter() - t0
    if errors:
        raise RuntimeError(f"throughput run failed: {errors[0]}")
    total = sum(counts)
    allt = [x for lst in latencies for x in lst]
    return {"clients": clients, "seconds": elapsed, "requests": total, "rps": total / elapsed,
            "connection_retries": Browser.retries,
            **({"p50_ms": summary_ms(allt)["median_ms"], "p95_ms": summary_ms(allt)["p95_ms"]} if allt else {})}


def bench_full_login_and_hash(base_url: str, n: int) -> tuple[dict, dict]:
    """Full logins and, after each, the password check alone in-process (argon2id, what the login pays for
    hashing), interleaved A B A B so drift on the machine hits both alike; then their summaries."""
    from idp.directory.passwords import hash_password, verify_password

    h = hash_password(PASSWORD)
    verify_password(h, PASSWORD)  # the first check in a process also builds the dummy hash
    logins, hashes = [], []
    for _ in range(n):
        logins.append(full_login(base_url)[1])
        t0 = time.perf_counter()
        assert verify_password(h, PASSWORD)
        hashes.append(time.perf_counter() - t0)
    return summary_ms(logins), summary_ms(hashes)


def run(n_roundtrip: int, throughput_seconds: float, n_login: int, clients: int = 4) -> dict:
    stack = start_stack()
    try:
        out = {"startup_s": stack.startup_seconds,
               "roundtrip": bench_roundtrip(stack.base_url, n_roundtrip),
               "throughput": bench_throughput(stack.base_url, throughput_seconds, clients),
               }
        out["full_login"], out["password_hash"] = bench_full_login_and_hash(stack.base_url, n_login)
        return out
    finally:
        stop_stack(stack)
