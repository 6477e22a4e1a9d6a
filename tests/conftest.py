"""Shared fixtures: moto with the template's resources, API Gateway v2 events, the local stack over HTTP."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

import pytest

ROOT = Path(__file__).resolve().parents[1]
ADMIN_TOKEN = "test-admin-token-9f8e7d6c5b4a"

# Never reach real AWS from a test.
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "officespace-idp")


def reset_caches() -> None:
    from idp import aws, secrets

    aws.reset()
    secrets.reset()
    from idp.provisioning import consumer, wiring
    from idp.web import admin_routes

    admin_routes.directory.cache_clear()
    admin_routes.apps.cache_clear()
    wiring.reset()
    consumer.reset()


@pytest.fixture
def aws_env(monkeypatch):
    """moto in-process, with the table, queues and secret created from template.yaml."""
    from moto import mock_aws

    from idp.local.cfn import load_template
    from idp.local.resources import create_from_template

    for var in ("AWS_ENDPOINT_URL", "PUBLIC_BASE_URL"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    with mock_aws():
        res = create_from_template(load_template(ROOT / "template.yaml"), "test", ADMIN_TOKEN)
        monkeypatch.setenv("TABLE_NAME", res.table_name)
        monkeypatch.setenv("EVENTS_QUEUE_URL", res.queue_url)
        monkeypatch.setenv("DLQ_URL", res.dlq_url)
        monkeypatch.setenv("SSM_PREFIX", "/test")
        monkeypatch.setenv("ADMIN_TOKEN", ADMIN_TOKEN)
        reset_caches()
        yield res
        reset_caches()


def http_event(method: str, path: str, body=None, token: str | None = ADMIN_TOKEN, query: dict | None = None,
               headers: dict | None = None, raw_body: str | None = None, source_ip: str = "198.51.100.7") -> dict:
    """An API Gateway HTTP API (payload 2.0) event, as API Gateway would send it."""
    hdrs = {"content-type": "application/json", "host": "idp.example.com", "x-forwarded-proto": "https"}
    if token:
        hdrs["authorization"] = f"Bearer {token}"
    hdrs.update(headers or {})
    if raw_body is None and body is not None:
        raw_body = json.dumps(body)
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": urlencode(query or {}),
        "headers": hdrs,
        "queryStringParameters": query or None,
        "requestContext": {
            "accountId": "123456789012", "apiId": "api", "domainName": "idp.example.com", "domainPrefix": "idp",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": source_ip, "userAgent": "pytest"},
            "requestId": "req", "routeKey": "$default", "stage": "$default", "time": "28/Nov/2026:19:00:00 +0000",
            "timeEpoch": 1795892400000,
        },
        "body": raw_body,
        "isBase64Encoded": False,
    }


class LambdaContext:
    function_name = "test"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:test"
    aws_request_id = "test-request"

    def get_remaining_time_in_millis(self):
        return 30_000


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


class RunningStack:
    def __init__(self, proc, base_url, admin_token, log_path, standin_port):
        self.proc = proc
        self.base_url = base_url
        self.admin_token = admin_token
        self.log_path = log_path
        self.standin_port = standin_port
        self.standin_url = f"http://127.0.0.1:{standin_port}"

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
           "LOCAL_VISIBILITY_TIMEOUT": "5", "PYTHONUNBUFFERED": "1", **(extra_env or {})}
    env.pop("AWS_ENDPOINT_URL", None)
    log_path = tmp_path / f"stack-{port}.log"
    log = open(log_path, "w")
    proc = subprocess.Popen([sys.executable, "-m", "idp.local"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    stack = RunningStack(proc, f"http://127.0.0.1:{port}", ADMIN_TOKEN, log_path, standin_port)
    try:
        stack.startup_seconds = wait_healthy(f"{stack.base_url}/healthz", proc)
    except Exception:
        proc.kill()
        raise RuntimeError("local stack did not start:\n" + stack.logs()[-4000:])
    return stack


def stop_stack(stack: RunningStack) -> int:
    import signal

    stack.proc.send_signal(signal.SIGINT)
    try:
        return stack.proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        stack.proc.kill()
        raise


@pytest.fixture(scope="session")
def local_stack(tmp_path_factory):
    """`python -m idp.local` in a subprocess (DEMO=0, no stand-in), driven over real HTTP."""
    stack = start_stack(tmp_path_factory.mktemp("stack"))
    yield stack
    stop_stack(stack)
