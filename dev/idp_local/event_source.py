"""A local SQS -> Lambda event source mapping: receive a batch, build the SQS event, call the handler,
delete only the records the handler did not report in `batchItemFailures` (none if it raised).
Visibility timeout, maxReceiveCount and the DLQ redrive are the queue's own (moto does them as AWS does).
Several pollers (`pollers`, the stack's LOCAL_CONSUMERS) run at once, as Lambda runs several invocations
at once for distinct message groups (the template's MaximumConcurrency): a FIFO group is handed to one
receiver at a time (moto as SQS), so one slow app's group (`app-slow:<slug>`) holds at most one poller."""
from __future__ import annotations

import logging
import threading
import time
from typing import Callable

log = logging.getLogger(__name__)


def to_lambda_record(message: dict, queue_arn: str, region: str = "us-east-1") -> dict:
    attrs = message.get("Attributes", {})
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": attrs,
        "messageAttributes": message.get("MessageAttributes", {}),
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }


def deliver(sqs, queue_url: str, queue_arn: str, handler: Callable, messages: list[dict], context=None) -> set[str] | None:
    """One batch, as Lambda's event source mapping does it: build the SQS event, call the handler,
    delete the records it did not report in `batchItemFailures`. Returns the failed message ids, or
    None when the handler raised (then nothing is deleted and the whole batch comes back)."""
    event = {"Records": [to_lambda_record(m, queue_arn) for m in messages]}
    try:
        result = handler(event, context) or {}
    except Exception:  # as Lambda does: the whole batch returns to the queue
        log.exception("the handler raised; the batch stays on the queue")
        return None
    failed = {f["itemIdentifier"] for f in result.get("batchItemFailures", [])}
    done = [m for m in messages if m["MessageId"] not in failed]
    for i in range(0, len(done), 10):
        sqs.delete_message_batch(
            QueueUrl=queue_url,
            Entries=[{"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(done[i : i + 10])],
        )
    return failed


class SqsEventSource:
    """Polls a queue and feeds batches to a Lambda-style handler until stopped."""

    def __init__(self, sqs, queue_url: str, queue_arn: str, handler: Callable, batch_size: int = 10, wait_seconds: int = 1,
                 pollers: int = 1):
        self.sqs = sqs
        self.queue_url = queue_url
        self.queue_arn = queue_arn
        self.handler = handler
        self.batch_size = batch_size
        self.wait_seconds = wait_seconds
        self.pollers = max(1, int(pollers))
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.ready = threading.Event()
        self.batches = 0
        self._count = threading.Lock()

    def poll_once(self, sqs=None) -> int:
        """Receive and process one batch; returns how many messages were received."""
        sqs = sqs or self.sqs
        answer = sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=self.batch_size,
            WaitTimeSeconds=self.wait_seconds,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        messages = answer.get("Messages", [])
        self.ready.set()
        if not messages:
            return 0
        if deliver(sqs, self.queue_url, self.queue_arn, self.handler, messages, LambdaContext()) is not None:
            with self._count:
                self.batches += 1
        return len(messages)

    def _run(self, sqs=None) -> None:
        while not self._stop.is_set():
            try:
                self.poll_once(sqs)
            except Exception:  # keep polling; a broken poll is logged, not fatal
                log.exception("event source poll failed")
                self._stop.wait(1)

    def start(self) -> None:
        import boto3

        for n in range(self.pollers):
            # One SQS client per poller (the first uses the one given): a client's connection pool is its own.
            sqs = self.sqs if n == 0 else boto3.client("sqs")
            thread = threading.Thread(target=self._run, args=(sqs,), name=f"sqs-event-source-{n}", daemon=True)
            self._threads.append(thread)
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        end = time.monotonic() + 5
        for thread in self._threads:
            thread.join(timeout=max(0.0, end - time.monotonic()))


class LambdaContext:
    """The Lambda context object a local invocation hands the handler."""

    def __init__(self, function_name: str = "ScimPushFunction", timeout_ms: int = 60_000):
        self.function_name = function_name
        self.memory_limit_in_mb = 512
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{function_name}"
        self.aws_request_id = "local"
        self._timeout_ms = timeout_ms

    def get_remaining_time_in_millis(self) -> int:
        return self._timeout_ms


class Schedule:
    """Calls `job` every `seconds` on a thread, like an EventBridge schedule."""

    def __init__(self, seconds: float, job: Callable[[], object], name: str):
        self.seconds = seconds
        self.job = job
        self.name = name
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _run(self) -> None:
        while not self._stop.wait(self.seconds):
            try:
                self.job()
            except Exception:  # a failed run is logged; the schedule goes on, as EventBridge's would
                log.exception("scheduled job %s failed", self.name)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"schedule-{self.name}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)
