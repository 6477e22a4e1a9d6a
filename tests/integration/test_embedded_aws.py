"""The embedded AWS loses no write under concurrency: moto's TransactWriteItems, whose failed
conditions restore a copy of the table, runs one DynamoDB request at a time (idp_local.moto_server)."""
from __future__ import annotations

import threading

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from idp_local.moto_server import EmbeddedAws


@pytest.fixture
def ddb(monkeypatch):
    for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(key, value)
    server = EmbeddedAws(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    # No retries: a 500 from moto must show, not be hidden by botocore.
    client = boto3.client("dynamodb", endpoint_url=f"http://{host}:{port}", region_name="us-east-1",
                          config=Config(retries={"max_attempts": 1, "mode": "standard"}, max_pool_connections=32))
    client.create_table(TableName="t", BillingMode="PAY_PER_REQUEST",
                        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}])
    client.put_item(TableName="t", Item={"pk": {"S": "taken"}})
    for start in range(0, 2000, 25):  # a table of some size: moto's copy of it takes a while
        client.batch_write_item(RequestItems={"t": [{"PutRequest": {"Item": {"pk": {"S": f"old-{n}"}, "pad": {"S": "x" * 200}}}}
                                                    for n in range(start, start + 25)]})
    yield client, server
    server.stop()


def test_failed_transactions_roll_back_nothing_written_meanwhile(ddb):
    client, server = ddb
    errors: list[BaseException] = []
    written = [f"w{t}-{i}" for t in range(4) for i in range(60)]

    def writer(t):
        try:
            for i in range(60):
                client.put_item(TableName="t", Item={"pk": {"S": f"w{t}-{i}"}})
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    def clasher():
        for i in range(60):  # a username clash: the condition fails, moto restores its copy of the table
            try:
                client.transact_write_items(TransactItems=[
                    {"Put": {"TableName": "t", "Item": {"pk": {"S": f"new-{i}"}}}},
                    {"Put": {"TableName": "t", "Item": {"pk": {"S": "taken"}}, "ConditionExpression": "attribute_not_exists(pk)"}},
                ])
            except ClientError as exc:
                if exc.response["Error"]["Code"] != "TransactionCanceledException":
                    errors.append(exc)

    threads = [threading.Thread(target=writer, args=(t,)) for t in range(4)] + [threading.Thread(target=clasher) for _ in range(3)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=120)
    assert errors == []  # no HTTP 500 ("dictionary changed size during iteration")
    keys = set()
    for page in client.get_paginator("scan").paginate(TableName="t"):
        keys |= {item["pk"]["S"] for item in page["Items"]}
    assert set(written) <= keys, f"{len(set(written) - keys)} writes were rolled back"
    assert not any(k.startswith("new-") for k in keys)  # the cancelled transactions left nothing
    assert server.app.served > len(written)
