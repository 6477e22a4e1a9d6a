"""Publishes directory change events to the FIFO events queue (SQS)."""
from __future__ import annotations

from typing import Sequence

from aws_lambda_powertools import Logger

from idp.kernel.events import ChangeEvent, message_body

log = Logger(child=True)


class EventPublisher:
    """Sends events to the directory events queue (FIFO: group = the entity id)."""

    def __init__(self, sqs, queue_url: str):
        self.sqs = sqs
        self.queue_url = queue_url

    def publish(self, events: Sequence[ChangeEvent]) -> list[ChangeEvent]:
        """Send events in batches of ten; returns the events that failed to send."""
        failed: list[ChangeEvent] = []
        for i in range(0, len(events), 10):
            chunk = events[i : i + 10]
            entries = [
                {
                    "Id": str(n),
                    "MessageBody": message_body(e),
                    "MessageGroupId": e.get("group") or e["id"],
                    "MessageDeduplicationId": e["event_id"],
                }
                for n, e in enumerate(chunk)
            ]
            for entry in entries:
                entry["MessageGroupId"] = entry["MessageGroupId"][:128]
            try:
                answer = self.sqs.send_message_batch(QueueUrl=self.queue_url, Entries=entries)
            except Exception as exc:  # noqa: BLE001 - the outbox keeps them; say why and go on
                log.warning("event publish failed, left in the outbox: %s", type(exc).__name__)
                failed.extend(chunk)
                continue
            failed.extend(chunk[int(f["Id"])] for f in answer.get("Failed", []))
        return failed
