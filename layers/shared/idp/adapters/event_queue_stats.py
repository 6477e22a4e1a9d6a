"""The change-event queue's and its dead-letter queue's approximate counts (SQS GetQueueAttributes), for the
console's dashboard (idp.provisioning.ports.EventQueueStats)."""
from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger

from idp.provisioning.ports import QueueDepths

log = Logger(child=True)


class SqsQueueStats:
    def __init__(self, sqs: Any, events_queue_url: str | None, dlq_url: str | None) -> None:
        self.sqs = sqs
        self.events_queue_url = events_queue_url
        self.dlq_url = dlq_url

    def depths(self) -> QueueDepths:
        backlog = in_flight = dead_letters = None
        try:
            if self.events_queue_url:
                attrs = self.sqs.get_queue_attributes(QueueUrl=self.events_queue_url, AttributeNames=[
                    "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
                backlog = int(attrs.get("ApproximateNumberOfMessages", 0))
                in_flight = int(attrs.get("ApproximateNumberOfMessagesNotVisible", 0))
            if self.dlq_url:
                attrs = self.sqs.get_queue_attributes(QueueUrl=self.dlq_url,
                                                      AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]
                dead_letters = int(attrs.get("ApproximateNumberOfMessages", 0))
        except Exception:  # noqa: BLE001 - the numbers are a convenience; the page still renders
            log.warning("dashboard: queue attributes unreadable")
        return QueueDepths(backlog, in_flight, dead_letters)
