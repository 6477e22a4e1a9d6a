"""Contract section 13: `make run` with AWS_ENDPOINT_URL set uses that endpoint (here a plain moto server, not
the stack's embedded AWS) instead of starting its own, creates the template's table, queues and secret there
when they are missing and keeps them when they are not, and GET /healthz answers 200 only while the table can
be read."""
from __future__ import annotations

import time
from pathlib import Path

import boto3
import pytest
import requests
from moto.server import ThreadedMotoServer

from idp_local.cfn import load_template, resources_of_type
from idp_testing.stack import free_port, start_stack, stop_stack

ROOT = Path(__file__).resolve().parents[2]


def _healthz(stack) -> requests.Response:
    return requests.get(f"{stack.base_url}/healthz", timeout=10)


@pytest.mark.timeout(240)
def test_the_stack_runs_on_another_endpoint_and_healthz_follows_the_table(tmp_path):
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    env = {"AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
           "AWS_DEFAULT_REGION": "us-east-1"}
    ddb = boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1",
                       aws_access_key_id="testing", aws_secret_access_key="testing")
    stopped = False
    first = start_stack(tmp_path, extra_env=env)
    try:
        (table,) = ddb.list_tables()["TableNames"]  # created on that endpoint
        sqs = boto3.client("sqs", endpoint_url=endpoint, region_name="us-east-1",
                           aws_access_key_id="testing", aws_secret_access_key="testing")
        queues = {url.rsplit("/", 1)[-1].split("-local-", 1)[-1].removesuffix(".fifo")
                  for url in sqs.list_queues()["QueueUrls"]}
        assert queues == set(resources_of_type(load_template(ROOT / "template.yaml"), "AWS::SQS::Queue"))
        created = first.admin().post(f"{first.base_url}/admin/users", json={
            "username": "ext1", "email": "ext1@example.com", "firstname": "Ex", "lastname": "Ternal"}, timeout=15)
        assert created.status_code == 201, created.text
        assert ddb.scan(TableName=table)["Count"] > 0
        assert "embedded" not in first.logs().split("AWS  ", 1)[-1].split("\n", 1)[0]
    finally:
        stop_stack(first)
    # Started again on the same endpoint: what is there is kept, the user too.
    second = start_stack(tmp_path, extra_env=env)
    try:
        assert ddb.list_tables()["TableNames"] == [table]
        users = second.admin().get(f"{second.base_url}/admin/users?limit=200", timeout=15).json()["items"]
        assert [u["username"] for u in users] == ["ext1"]
        assert _healthz(second).status_code == 200
        server.stop()  # the endpoint goes away
        stopped = True
        deadline = time.monotonic() + 20
        while (answer := _healthz(second)).status_code == 200 and time.monotonic() < deadline:
            time.sleep(0.5)
        assert answer.status_code == 503, answer.text
        assert any("directory table cannot be read" in p for p in answer.json()["problems"])
    finally:
        stop_stack(second)
        if not stopped:
            server.stop()
