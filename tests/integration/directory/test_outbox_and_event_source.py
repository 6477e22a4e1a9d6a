"""The outbox keeps changes the queue did not take; the local event source redrives to the DLQ like AWS."""
import json

import boto3

from idp.adapters.event_publisher import EventPublisher
from idp.bootstrap import container
from idp.directory.outbox import relay_outbox
from idp.directory.service import DirectoryService
from idp_local.event_source import SqsEventSource


def _receive_all(url):
    sqs, bodies = boto3.client("sqs"), []
    while True:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
        if not got:
            return bodies
        for m in got:
            bodies.append(json.loads(m["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])


def test_change_survives_a_queue_outage(aws_env):
    store = container().store
    broken = EventPublisher(boto3.client("sqs"), aws_env.queue_url.replace("DirectoryEventsQueue", "NoSuchQueue"))
    service = DirectoryService(store=store, publisher=broken)
    user = service.create_user({"username": "ada", "email": "ada@example.com", "firstname": "Ada", "lastname": "L"})
    # The change is stored and its event is waiting in the outbox, not lost.
    assert store.get_user(user["id"])["username"] == "ada"
    assert [i["event"]["type"] for i in store.pending_outbox()] == ["user.created"]
    assert _receive_all(aws_env.queue_url) == []
    # The scheduled relay delivers it once the queue is back.
    assert relay_outbox(store, container().publisher) == 1
    assert [(b["type"], b["id"]) for b in _receive_all(aws_env.queue_url)] == [("user.created", user["id"])]
    assert store.pending_outbox() == []


def test_event_source_redrives_a_failing_message_to_the_dlq(aws_env):
    sqs = boto3.client("sqs")
    sqs.set_queue_attributes(QueueUrl=aws_env.queue_url, Attributes={"VisibilityTimeout": "0"})
    sqs.send_message(QueueUrl=aws_env.queue_url, MessageBody='{"type":"user.updated","id":"u-x"}',
                     MessageGroupId="u-x", MessageDeduplicationId="d1")
    sqs.send_message(QueueUrl=aws_env.queue_url, MessageBody='{"type":"user.updated","id":"u-y"}',
                     MessageGroupId="u-y", MessageDeduplicationId="d2")
    handled = []

    def handler(event, context):
        failures = []
        for record in event["Records"]:
            body = json.loads(record["body"])
            handled.append(body["id"])
            if body["id"] == "u-x":
                failures.append({"itemIdentifier": record["messageId"]})
        return {"batchItemFailures": failures}

    source = SqsEventSource(sqs, aws_env.queue_url, aws_env.queue_arn, handler, wait_seconds=0)
    for _ in range(aws_env.max_receive_count + 3):
        source.poll_once()
    assert handled.count("u-y") == 1  # done once, deleted
    assert handled.count("u-x") == aws_env.max_receive_count  # retried until maxReceiveCount
    dead = _receive_all(aws_env.dlq_url)
    assert [b["id"] for b in dead] == ["u-x"]
