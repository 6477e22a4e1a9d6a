"""Directory change events (contract section 4): built here, stored in the outbox with the change,
then published to the FIFO queue. A publish that fails leaves the event in the outbox, and the
scheduled relay (`relay_outbox`) sends it later, so provisioning always hears of a change."""
from __future__ import annotations

import json
import logging
import uuid

from idp import aws
from idp.config import get_settings
from idp.directory.store import now_iso

log = logging.getLogger(__name__)

KINDS = {
    "user.created", "user.updated", "user.deleted",
    "group.created", "group.updated", "group.deleted",
    "group.members_changed", "app.access_changed", "app.sync",
}


def event(kind: str, ident: str, app: str | None = None, version: int | None = None) -> dict:
    """One change event; `event_id` is the FIFO deduplication id and is not part of the body."""
    assert kind in KINDS, kind
    body = {"type": kind, "id": ident, "at": now_iso(), "event_id": uuid.uuid4().hex}
    if app:
        body["app"] = app
    if version is not None:
        body["version"] = int(version)
    return body


def message_body(evt: dict) -> str:
    return json.dumps({k: v for k, v in evt.items() if k != "event_id"}, separators=(",", ":"))


class EventPublisher:
    """Sends events to the directory events queue (FIFO: group = the entity id)."""

    def __init__(self, sqs=None, queue_url: str | None = None):
        self._sqs = sqs
        self._queue_url = queue_url

    @property
    def sqs(self):
        return self._sqs or aws.client("sqs")

    @property
    def queue_url(self) -> str:
        return self._queue_url or get_settings().events_queue_url

    def publish(self, events: list[dict]) -> list[dict]:
        """Send events in batches of ten; returns the events that failed to send."""
        failed: list[dict] = []
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


def relay_outbox(store, publisher: EventPublisher, max_rounds: int = 50) -> int:
    """Publish what the outbox still holds and clear what was sent; returns how many were sent."""
    sent = 0
    for _ in range(max_rounds):
        items = store.pending_outbox()
        if not items:
            break
        failed = {e["event_id"] for e in publisher.publish([i["event"] for i in items])}
        done = [i["sk"] for i in items if i["event"]["event_id"] not in failed]
        store.clear_outbox(done)
        sent += len(done)
        if failed:
            break
    return sent
