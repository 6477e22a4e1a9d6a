"""The handlers' X-Ray SDK is opt-in (IDP_XRAY_SDK, the template's DetailedTracing): off, a handler is
itself and the SDK is never imported; on, it runs under powertools' Tracer."""
from __future__ import annotations

import subprocess
import sys

from idp import bootstrap
from idp.web.tracing import traced
from idp_local.stack import repo_root


def handler(event, context):
    return {"ok": event}


def test_off_by_default_the_handler_is_itself(monkeypatch):
    monkeypatch.delenv("IDP_XRAY_SDK", raising=False)
    bootstrap.reset()
    try:
        assert traced(handler) is handler
    finally:
        bootstrap.reset()


def test_on_the_handler_runs_under_the_tracer(monkeypatch):
    monkeypatch.setenv("IDP_XRAY_SDK", "true")
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")  # no X-Ray daemon here
    bootstrap.reset()
    try:
        wrapped = traced(handler)
        assert wrapped is not handler and wrapped({"a": 1}, None) == {"ok": {"a": 1}}
    finally:
        bootstrap.reset()


def test_the_push_function_does_not_import_the_xray_sdk_by_default():
    code = ("import importlib.util, sys\n"
            "spec = importlib.util.spec_from_file_location('app', sys.argv[1])\n"
            "m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)\n"
            "print('aws_xray_sdk' in sys.modules)\n")
    env = {"AWS_DEFAULT_REGION": "us-east-1", "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-c", code, str(repo_root() / "functions" / "scim_push" / "app.py")], cwd=repo_root(),
                          env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "False"
