"""DynamoDB and SQS for tests (inside moto): the table as template.yaml declares it, FIFO queues, a
queue drain that is the local SQS → Lambda event source, and DynamoDB's per-item atomicity."""
from __future__ import annotations

import itertools
import json
import threading
import time
from pathlib import Path
from typing import Any, Callable

from idp_local.event_source import deliver

TABLE = "prov-test-table"
ROOT = Path(__file__).resolve().parents[2]


# ---------------------------------------------------------------- DynamoDB / SQS (inside mock_aws)
def create_table(name: str = TABLE):
    """The directory table as template.yaml declares it (one source of truth for keys and indexes)."""
    import boto3

    from idp_local.cfn import load_template
    from idp_local.resources import create_table as create_declared_table

    create_declared_table(load_template(ROOT / "template.yaml"), "DirectoryTable", table_name=name)
    return boto3.resource("dynamodb", region_name="us-east-1").Table(name)


def create_queues(sqs, max_receive: int = 4, visibility: int = 2) -> tuple[str, str, str]:
    """A FIFO queue with a DLQ; returns (queue url, queue arn, dlq url)."""
    dlq = sqs.create_queue(QueueName="events-dlq.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    url = sqs.create_queue(QueueName="events.fifo", Attributes={
        "FifoQueue": "true", "VisibilityTimeout": str(visibility),
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(max_receive)}),
    })["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn, dlq


_seq = itertools.count(1)


def publish(sqs, url: str, kind: str, ident: str, app: str | None = None, group: str | None = None) -> None:
    body = {"type": kind, "id": ident, "at": "2026-01-01T00:00:00Z"}
    if app:
        body["app"] = app
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps(body), MessageGroupId=group or ident,
                     MessageDeduplicationId=f"m{next(_seq)}")


def queue_depth(sqs, url: str) -> int:
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages",
                                                                     "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"]) + int(attrs["ApproximateNumberOfMessagesNotVisible"])


def receive_all(sqs, url: str) -> list[dict]:
    out = []
    while True:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0, VisibilityTimeout=30,
                                  AttributeNames=["All"]).get("Messages", [])
        if not got:
            return out
        out.extend(got)


def drain(sqs, url: str, arn: str, handler: Callable[[dict, Any], dict], *, timeout: float = 60.0,
          until: Callable[[], bool] | None = None, idle_sleep: float = 0.2, context: Any = None) -> dict:
    """The SQS → Lambda event source mapping, locally: receive, call the handler, delete what did not
    fail. Runs until the queue is empty (or `until()` is true) or `timeout`."""
    stats = {"batches": 0, "records": 0, "failures": 0}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if until is not None and until():
            return stats
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0,
                                  AttributeNames=["All"], MessageSystemAttributeNames=["All"]).get("Messages", [])
        if not got:
            if until is None and queue_depth(sqs, url) == 0:
                return stats
            time.sleep(idle_sleep)
            continue
        stats["batches"] += 1
        stats["records"] += len(got)
        failed = deliver(sqs, url, arn, handler, got, context)
        stats["failures"] += len(got) if failed is None else len(failed)
    raise AssertionError(f"queue not drained in {timeout}s: {stats}, depth {queue_depth(sqs, url)}")



# ---------------------------------------------------------------- DynamoDB's per-item atomicity
class AtomicTable:
    """A boto3 Table whose calls run one at a time, as DynamoDB applies each write atomically (moto
    evaluates a condition and writes without a lock, so two threads could both pass one). Batch
    writes are collected and written under the same lock."""

    def __init__(self, inner, lock: threading.Lock | None = None):
        self.inner, self.lock = inner, lock or threading.Lock()

    def batch_writer(self, **kw):
        table = self

        class _Writer:
            def __init__(self):
                self.items = []

            def put_item(self, Item):
                self.items.append(("put", Item))

            def delete_item(self, Key):
                self.items.append(("delete", Key))

            def __enter__(self):
                return self

            def __exit__(self, *exc):
                with table.lock, table.inner.batch_writer(**kw) as writer:
                    for op, item in self.items:
                        if op == "put":
                            writer.put_item(Item=item)
                        else:
                            writer.delete_item(Key=item)
                return False

        return _Writer()

    def transact_write_items(self, **kw):
        """A transaction, under the same lock (the table resource has no method of its own for it)."""
        with self.lock:
            return self.inner.meta.client.transact_write_items(**kw)

    def __getattr__(self, name):
        attr = getattr(self.inner, name)
        if not callable(attr):
            return attr

        def locked(*a, **kw):
            with self.lock:
                return attr(*a, **kw)
        return locked
