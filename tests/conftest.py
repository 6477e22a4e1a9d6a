"""Shared fixtures: moto with the template's resources, API Gateway v2 events, the local stack over HTTP."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
from idp_testing.lambda_events import ADMIN_TOKEN, LambdaContext, http_event  # noqa: E402,F401
from idp_testing.stack import start_stack, stop_stack  # noqa: E402

# Never reach real AWS from a test.
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "officespace-idp")


def reset_caches() -> None:
    from idp import bootstrap

    bootstrap.reset()


@pytest.fixture
def aws_env(monkeypatch):
    """moto in-process, with the table, queues and secret created from template.yaml."""
    from moto import mock_aws

    from idp_local.cfn import load_template
    from idp_local.resources import create_from_template

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
        monkeypatch.setenv("IMPORT_QUEUE_URL", res.import_queue_url)
        monkeypatch.setenv("SSM_PREFIX", "/test")
        monkeypatch.setenv("ADMIN_TOKEN", ADMIN_TOKEN)
        monkeypatch.setenv("IDP_ALLOW_LOCAL_TARGETS", "1")  # scim2-server and test SPs on loopback, as locally
        reset_caches()
        yield res
        reset_caches()


@pytest.fixture(scope="session")
def local_stack(tmp_path_factory):
    """`python -m idp_local` in a subprocess (DEMO=0, no stand-in), driven over real HTTP."""
    stack = start_stack(tmp_path_factory.mktemp("stack"))
    yield stack
    stop_stack(stack)
