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
    client.delete_table(TableName="t")  # moto's backends outlive the server in this process
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
    assert server.app.server_errors == 0


def test_a_transaction_is_all_or_nothing_and_says_why(ddb):
    client, _ = ddb
    client.put_item(TableName="t", Item={"pk": {"S": "counter"}, "n": {"N": "1"}})
    with pytest.raises(ClientError) as err:
        client.transact_write_items(TransactItems=[
            {"Update": {"TableName": "t", "Key": {"pk": {"S": "counter"}}, "UpdateExpression": "SET n = n + :one",
                        "ExpressionAttributeValues": {":one": {"N": "1"}}}},
            {"ConditionCheck": {"TableName": "t", "Key": {"pk": {"S": "taken"}}, "ConditionExpression": "attribute_not_exists(pk)",
                                "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}},
        ])
    assert err.value.response["Error"]["Code"] == "TransactionCanceledException"
    reasons = err.value.response["CancellationReasons"]
    assert [r["Code"] for r in reasons] == ["None", "ConditionalCheckFailed"] and reasons[1]["Item"]["pk"] == {"S": "taken"}
    assert client.get_item(TableName="t", Key={"pk": {"S": "counter"}})["Item"]["n"] == {"N": "1"}  # nothing applied
    client.transact_write_items(TransactItems=[
        {"Update": {"TableName": "t", "Key": {"pk": {"S": "counter"}}, "UpdateExpression": "SET n = n + :one",
                    "ConditionExpression": "n = :one", "ExpressionAttributeValues": {":one": {"N": "1"}}}},
        {"Delete": {"TableName": "t", "Key": {"pk": {"S": "old-0"}}}},
        {"Put": {"TableName": "t", "Item": {"pk": {"S": "fresh"}}, "ConditionExpression": "attribute_not_exists(pk)"}},
    ])
    assert client.get_item(TableName="t", Key={"pk": {"S": "counter"}})["Item"]["n"] == {"N": "2"}
    assert "Item" not in client.get_item(TableName="t", Key={"pk": {"S": "old-0"}})
    assert "Item" in client.get_item(TableName="t", Key={"pk": {"S": "fresh"}})
    with pytest.raises(ClientError) as twice:  # one item twice in a transaction: refused as DynamoDB does
        client.transact_write_items(TransactItems=[{"Put": {"TableName": "t", "Item": {"pk": {"S": "x"}}}},
                                                   {"Delete": {"TableName": "t", "Key": {"pk": {"S": "x"}}}}])
    assert twice.value.response["Error"]["Code"] == "ValidationException"


def test_a_transaction_costs_the_items_it_touches_not_the_table():
    """Counted, not timed: the patched transaction never copies the table (moto's copied every table
    a transaction named, so its cost grew with the directory)."""
    import copy

    from moto import mock_aws

    from idp_local import moto_transactions

    moto_transactions.install()
    copied: list[type] = []
    real = copy.deepcopy

    def watching(obj, *args, **kwargs):
        copied.append(type(obj).__name__)
        return real(obj, *args, **kwargs)

    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(TableName="big", BillingMode="PAY_PER_REQUEST",
                            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}])
        for start in range(0, 500, 25):
            client.batch_write_item(RequestItems={"big": [{"PutRequest": {"Item": {"pk": {"S": f"u{n}"}}}}
                                                          for n in range(start, start + 25)]})
        moto_transactions.copy.deepcopy = watching
        try:
            client.transact_write_items(TransactItems=[{"Put": {"TableName": "big", "Item": {"pk": {"S": "one"}}}}])
        finally:
            moto_transactions.copy.deepcopy = real
    assert "Table" not in copied and len(copied) <= 1  # at most the one touched item (absent here: None)


def test_every_5xx_of_the_embedded_aws_is_counted_and_logged(caplog):
    from idp_local.moto_server import SERVER_ERROR_MARKER, SerializedDynamoDB

    def failing(environ, start_response):
        start_response("500 Internal Server Error", [("Content-Type", "text/plain")])
        return [b"boom"]

    app = SerializedDynamoDB(failing)
    statuses = []
    with caplog.at_level("ERROR", logger="idp_local.moto_server"):
        body = app({"HTTP_X_AMZ_TARGET": "DynamoDB_20120810.TransactWriteItems"}, lambda s, h, e=None: statuses.append(s))
        app({"PATH_INFO": "/"}, lambda s, h, e=None: statuses.append(s))  # SQS and the others too
    assert body == [b"boom"] and statuses == ["500 Internal Server Error"] * 2
    assert app.server_errors == 2 and app.served == 1
    assert sum(SERVER_ERROR_MARKER in r.getMessage() for r in caplog.records) == 2


def _query_all(client, **kwargs) -> list[list[dict]]:
    """Every page of a query, as pages (paging must agree too)."""
    pages, start = [], None
    while True:
        answer = client.query(**kwargs, **({"ExclusiveStartKey": start} if start else {}))
        pages.append(answer["Items"])
        start = answer.get("LastEvaluatedKey")
        if not start:
            return pages


def test_a_query_answers_as_moto_does_at_the_cost_of_its_partition(monkeypatch):
    """idp_local.moto_queries hands moto's query only the partition's items: every answer, its order and
    its pages are moto's own (compared query by query with the patch taken away), and a query of the
    table never lists the whole table (counted, not timed)."""
    import random

    from moto import mock_aws
    from moto.dynamodb.models.table import Table

    from idp_local import moto_queries

    moto_queries.install()
    rng = random.Random(7)
    queries = []
    for pk in ("P1", "P2", "P9", "absent"):
        queries.append({"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": pk}}})
        queries.append({"KeyConditionExpression": "pk = :p AND begins_with(sk, :s)", "Limit": 3,
                        "ExpressionAttributeValues": {":p": {"S": pk}, ":s": {"S": "S1"}}, "ScanIndexForward": False})
    for g in ("G0", "G3", "none"):
        queries.append({"IndexName": "gsi1", "KeyConditionExpression": "gpk = :g",
                        "ExpressionAttributeValues": {":g": {"S": g}}, "Limit": 4})
        queries.append({"IndexName": "gsi1", "KeyConditionExpression": "gpk = :g AND gsk > :s",
                        "FilterExpression": "attribute_exists(n)", "ScanIndexForward": False,
                        "ExpressionAttributeValues": {":g": {"S": g}, ":s": {"S": "0040"}}})
    queries.append({"IndexName": "byn", "KeyConditionExpression": "npk = :n",  # a number key: moto's path
                    "ExpressionAttributeValues": {":n": {"N": "2"}}})
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(
            TableName="t", BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": a, "AttributeType": "S"} for a in ("pk", "sk", "gpk", "gsk")]
            + [{"AttributeName": "npk", "AttributeType": "N"}],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            GlobalSecondaryIndexes=[
                {"IndexName": "gsi1", "Projection": {"ProjectionType": "ALL"},
                 "KeySchema": [{"AttributeName": "gpk", "KeyType": "HASH"}, {"AttributeName": "gsk", "KeyType": "RANGE"}]},
                {"IndexName": "byn", "Projection": {"ProjectionType": "KEYS_ONLY"},
                 "KeySchema": [{"AttributeName": "npk", "KeyType": "HASH"}]}])
        for n in range(300):
            item = {"pk": {"S": f"P{rng.randrange(10)}"}, "sk": {"S": f"S{rng.randrange(1000):04d}"}}
            if rng.random() < 0.8:  # some items are not in the index at all
                item["gpk"] = {"S": f"G{rng.randrange(5)}"}
                if rng.random() < 0.9:
                    item["gsk"] = {"S": f"{rng.randrange(100):04d}"}
            if rng.random() < 0.5:
                item["n"] = {"N": str(n)}
                item["npk"] = {"N": str(rng.randrange(4))}
            client.put_item(TableName="t", Item=item)
        listed: list[Table] = []
        real_all = moto_queries.ORIGINAL["all_items"]

        def counting(self):
            listed.append(self)
            return real_all(self)

        monkeypatch.setitem(moto_queries.ORIGINAL, "all_items", counting)
        patched = [_query_all(client, TableName="t", **q) for q in queries]
        # Only the query of the number-keyed index, left to moto, listed the whole table.
        assert len(listed) == len(patched[-1])
        listed.clear()
        monkeypatch.setattr(Table, "query", moto_queries.ORIGINAL["query"])
        monkeypatch.setattr(Table, "all_items", counting)
        moto_own = [_query_all(client, TableName="t", **q) for q in queries]
    assert len(listed) == sum(len(pages) for pages in moto_own)  # moto's own lists the table for every page
    assert sum(len(i) for page in patched for i in page) > 100  # the queries do find things
    for query, mine, theirs in zip(queries, patched, moto_own):
        assert mine == theirs, query


def test_a_message_costs_itself_not_a_count_of_the_queue(monkeypatch):
    """idp_local.moto_queues: sending and receiving never count the queue's messages (counted, not
    timed); GetQueueAttributes still counts them right."""
    from moto import mock_aws

    from idp_local import moto_queues

    moto_queues.install()
    passes: list[str] = []
    for name in moto_queues.COUNTS:
        counting = moto_queues.ORIGINAL[name]

        def watching(self, name=name, counting=counting):
            passes.append(name)
            return counting(self)

        monkeypatch.setitem(moto_queues.ORIGINAL, name, watching)
    with mock_aws():
        sqs = boto3.client("sqs", region_name="us-east-1")
        url = sqs.create_queue(QueueName="e.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
        for start in range(0, 40, 10):
            sqs.send_message_batch(QueueUrl=url, Entries=[
                {"Id": str(n), "MessageBody": f"m{n}", "MessageGroupId": f"g{n % 7}", "MessageDeduplicationId": f"d{n}"}
                for n in range(start, start + 10)])
        sqs.send_message(QueueUrl=url, MessageBody="again", MessageGroupId="g1", MessageDeduplicationId="d3")  # a duplicate
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
        assert passes == []  # neither sending nor receiving counted the queue
        counts = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert passes  # GetQueueAttributes did
    assert int(counts["ApproximateNumberOfMessages"]) == 40 - len(got)
    assert int(counts["ApproximateNumberOfMessagesNotVisible"]) == len(got)
    assert counts["ContentBasedDeduplication"] == "false" and int(counts["MessageRetentionPeriod"]) == 345600


def test_the_local_stack_runs_the_embedded_aws_in_a_process_of_its_own(monkeypatch):
    """EmbeddedAwsProcess: another process answers (moto's work no longer takes the stack's interpreter
    lock), and stopping it frees the port."""
    import os
    import socket

    from idp_local.moto_server import EmbeddedAwsProcess

    for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        monkeypatch.setenv(key, value)
    aws = EmbeddedAwsProcess()
    aws.start()
    try:
        host, port = aws.get_host_and_port()
        assert aws.pid not in (None, os.getpid())
        client = boto3.client("dynamodb", endpoint_url=f"http://{host}:{port}", region_name="us-east-1")
        client.create_table(TableName="t", BillingMode="PAY_PER_REQUEST",
                            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}])
        assert client.list_tables()["TableNames"] == ["t"]
    finally:
        aws.stop()
    with pytest.raises(OSError):
        socket.create_connection((host, port), timeout=2).close()


def test_an_item_is_answered_as_moto_would_write_it_without_walking_the_model(monkeypatch):
    """idp_local.moto_items: every attribute type, nested, in GetItem, Query, BatchGetItem, UpdateItem
    and TransactGetItems answers, is what moto's model walk writes (compared with the patch taken
    away), and an answer's attribute values are not walked member by member (counted)."""
    from moto import mock_aws
    from moto.core.serialize import BaseJSONSerializer

    from idp_local import moto_items

    moto_items.install()
    walked: list[str] = []
    real_walk = moto_items.ORIGINAL["structure"]

    def watching(self, serialized, value, shape, key):
        walked.append(shape.name)
        return real_walk(self, serialized, value, shape, key)

    item = {"pk": {"S": "p"}, "sk": {"S": "s"}, "n": {"N": "12.50"}, "b": {"B": b"\x00\xffbin"},
            "ss": {"SS": ["a", "b"]}, "ns": {"NS": ["1", "2.5"]}, "bs": {"BS": [b"x", b"\x01"]},
            "t": {"BOOL": True}, "f": {"BOOL": False}, "z": {"NULL": True}, "e": {"S": ""},
            "m": {"M": {"inner": {"L": [{"S": "x"}, {"N": "1"}, {"M": {"deep": {"B": b"\x02"}}}, {"NULL": True}]}}}}
    key = {"pk": {"S": "p"}, "sk": {"S": "s"}}

    def answers(client) -> list:
        client.put_item(TableName="t", Item=item)
        return [client.get_item(TableName="t", Key=key)["Item"],
                client.query(TableName="t", KeyConditionExpression="pk = :p",
                             ExpressionAttributeValues={":p": {"S": "p"}})["Items"],
                client.batch_get_item(RequestItems={"t": {"Keys": [key]}})["Responses"]["t"],
                client.update_item(TableName="t", Key=key, UpdateExpression="SET c = :c", ReturnValues="ALL_NEW",
                                   ExpressionAttributeValues={":c": {"N": "1"}})["Attributes"],
                client.transact_get_items(TransactItems=[{"Get": {"TableName": "t", "Key": key}}])["Responses"]]

    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(TableName="t", BillingMode="PAY_PER_REQUEST",
                            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                                  {"AttributeName": "sk", "AttributeType": "S"}],
                            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}])
        client.put_item(TableName="t", Item=item)
        monkeypatch.setitem(moto_items.ORIGINAL, "structure", watching)
        mine = answers(client)
        assert "AttributeValue" not in walked
        monkeypatch.setattr(BaseJSONSerializer, "_serialize_type_structure", real_walk)
        theirs = answers(client)
    for a, b in zip(mine, theirs):
        assert a == b, (a, b)
    assert mine[0]["b"] == {"B": b"\x00\xffbin"} and mine[0]["m"]["M"]["inner"]["L"][2]["M"]["deep"] == {"B": b"\x02"}
    assert mine[0]["n"] == {"N": "12.50"} and mine[0]["z"] == {"NULL": True} and mine[0]["f"] == {"BOOL": False}


def test_a_long_poll_gets_a_fifo_group_freed_while_it_waits():
    """idp_local.moto_queues: a message group freed by a delete during a long poll is delivered by that
    poll, as SQS does (moto's own poll kept the groups in flight as they were when it started and
    answered nothing)."""
    from moto import mock_aws

    from idp_local import moto_queues

    moto_queues.install()
    with mock_aws():
        sqs = boto3.client("sqs", region_name="us-east-1")
        url = sqs.create_queue(QueueName="p.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
        for n in (1, 2):
            sqs.send_message(QueueUrl=url, MessageBody=f"m{n}", MessageGroupId="g", MessageDeduplicationId=f"d{n}")
        first = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1)["Messages"]
        assert [m["Body"] for m in first] == ["m1"]  # the group is now in flight
        freeing = threading.Timer(0.3, lambda: sqs.delete_message(QueueUrl=url, ReceiptHandle=first[0]["ReceiptHandle"]))
        freeing.start()
        try:
            second = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=3).get("Messages", [])
        finally:
            freeing.join()
    assert [m["Body"] for m in second] == ["m2"]
