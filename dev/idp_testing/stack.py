"""The local stack (`python -m idp_local`) as a subprocess on free loopback ports, for e2e tests and benchmarks."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from idp_testing.lambda_events import ADMIN_TOKEN

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(url: str, proc: subprocess.Popen | None = None, timeout: float = 90) -> float:
    import requests

    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"local stack exited with {proc.returncode}")
        try:
            if requests.get(url, timeout=1).status_code == 200:
                return time.monotonic() - start
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{url} not healthy after {timeout}s")


STANDIN_SCIM_TOKEN = "standin-scim-token-e2e-7c6b5a4d3e2f"


class RunningStack:
    def __init__(self, proc, base_url, admin_token, log_path, standin_port):
        self.proc = proc
        self.base_url = base_url
        self.admin_token = admin_token
        self.log_path = log_path
        self.standin_port = standin_port
        self.standin_url = f"http://127.0.0.1:{standin_port}"
        # The stand-in's SCIM server (with standin=True), as an administrator would configure it for a new app.
        self.scim_base_url = f"{self.standin_url}/scim/v2"
        self.scim_token = STANDIN_SCIM_TOKEN

    def admin(self):
        import requests

        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {self.admin_token}"
        return session

    def logs(self) -> str:
        return Path(self.log_path).read_text(errors="replace")


def start_stack(tmp_path: Path, demo: bool = False, standin: bool = False, extra_env: dict | None = None) -> RunningStack:
    port, standin_port = free_port(), free_port()
    env = {**os.environ, "PORT": str(port), "STANDIN_PORT": str(standin_port), "HOST": "127.0.0.1",
           "ADMIN_TOKEN": ADMIN_TOKEN, "DEMO": "1" if demo else "0", "STANDIN": "1" if standin else "0",
           "LOCAL_VISIBILITY_TIMEOUT": "5", "PYTHONUNBUFFERED": "1", "STANDIN_SCIM_TOKEN": STANDIN_SCIM_TOKEN}
    env.pop("AWS_ENDPOINT_URL", None)  # the embedded AWS, unless the test names another endpoint
    env.update(extra_env or {})
    log_path = tmp_path / f"stack-{port}.log"
    log = open(log_path, "w")
    proc = subprocess.Popen([sys.executable, "-m", "idp_local"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    stack = RunningStack(proc, f"http://127.0.0.1:{port}", ADMIN_TOKEN, log_path, standin_port)
    try:
        stack.startup_seconds = wait_healthy(f"{stack.base_url}/healthz", proc)
    except Exception:  # noqa: BLE001 - whatever kept it from starting: stop the child, show its log
        proc.kill()
        raise RuntimeError("local stack did not start:\n" + stack.logs()[-4000:]) from None
    return stack


def stop_stack(stack: RunningStack) -> int:
    import signal

    stack.proc.send_signal(signal.SIGINT)
    try:
        return stack.proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        stack.proc.kill()
        raise
