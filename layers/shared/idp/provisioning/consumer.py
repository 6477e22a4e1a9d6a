"""The SQS consumer: one Lambda invocation's batch of directory events (FIFO queue) handed to the
dispatcher record by record; a failed record is reported in `batchItemFailures` and comes back
after a delay chosen from what failed, and a transient failure never burns a message into the DLQ.

One app cannot take all of the consumers' concurrency (contract section 4, each SP on its own):
1. one SCIM request has an absolute deadline (`idp.scim.protocol.REQUEST_DEADLINE`, 20 s), and the whole
   batch the Lambda's remaining time less `INVOCATION_MARGIN` (`deadline_scope`);
2. the dispatcher does the healthy apps of an event first;
3. with `isolate_apps` (the composition root sets it) the dispatcher gives each app
   `dispatch.APP_BUDGET_SECONDS` (1 s) of inline work per invocation; an app past it, or failing, or
   slow lately, has its share of each event sent back to the queue as an app-specific event
   (`{"type", "id", "app", "offloaded": 1}`) in the message group `app-slow:<slug>`: SQS FIFO hands
   a group to one consumer at a time, so at most one consumer is busy with a slow app while the
   entity groups (`MessageGroupId` = the user or group id) flow through the others. The offloaded
   event says what changed like any other (the consumer reads the current state), so a repeat or a
   reordering does no harm; its deduplication id is derived from the original message and the app,
   so a redelivered original does not queue the same share twice;
4. Lambda runs several invocations at once (`MaximumConcurrency`), one per message group at a time;
   the local stack's event source runs several pollers (its `LOCAL_CONSUMERS`, 4). The
   state of one invocation (the batch's seen records, the app budgets) is kept per thread, so
   pollers sharing this object do not mix their batches."""
from __future__ import annotations

import hashlib
import json
import random
import threading
import time
import uuid
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Callable

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from idp.kernel.events import member_event_id
from idp.provisioning.dispatch import SLOW_GROUP_PREFIX, BadEvent, Dispatcher, EventFailed
from idp.provisioning.planner import backoff_seconds
from idp.provisioning.ports import EventQueue, QueueMessage
from idp.scim.protocol import deadline_scope

if TYPE_CHECKING:
    from idp.provisioning.metrics import ProvisioningMetrics

log = Logger(child=True)

MAX_VISIBILITY = 12 * 3600 - 60
OFFLOADED_RETRY_SECONDS = 2.0  # at most this long a transient failure holds an app's own group
INVOCATION_MARGIN = 10.0  # seconds of the Lambda's time kept back from SCIM requests (flush, reporting)


class Consumer:
    """Each record is handled on its own (powertools `BatchProcessor` + `process_partial_response`):
    a failed record is reported in `batchItemFailures` and only its own visibility is changed:
    - a short Retry-After on a 429 (≤ retry_budget.INLINE_RETRY_AFTER_MAX) is waited out inside the
      invocation and the same request sent again, while the Lambda's remaining time allows it;
    - other Retry-After from the SP (429/503) → that message comes back after that many seconds;
    - other transient failures (5xx, timeouts, resets, breaker open) → exponential backoff with jitter
      from the receive count;
    - 401/403 → the app is marked failing with the reason and the message comes back every
      `auth_retry` seconds, so it is pushed once the token is fixed;
    - permanent failures (400...) → short backoff; after maxReceiveCount the queue moves the
      message to the DLQ, and the SP's reason is in the provisioning log.
    A transient failure never burns a message into the DLQ: on its last allowed receive the message
    is sent again as a fresh copy (with `not_before`) and the old one is deleted.
    Records in one batch that ask for the same work are done once (events are level-triggered).
    """

    def __init__(
        self,
        dispatcher: Dispatcher,
        *,
        queue: EventQueue,
        queue_url: str | None = None,
        max_receive_count: int = 8,
        backoff_base: float = 2.0,
        backoff_cap: float = 900.0,
        permanent_delay: float = 5.0,
        rand: Callable[[], float] = random.random,
        clock: Callable[[], float] = time.time,
        metrics: ProvisioningMetrics | None = None,
        isolate_apps: bool = False,
    ):
        self.dispatcher = dispatcher
        self.queue = queue
        self._queue_url = queue_url  # the events queue; else found from each record's source ARN
        self.max_receive_count = int(max_receive_count)
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.permanent_delay = permanent_delay
        self.rand = rand
        self.clock = clock
        self.metrics = metrics
        self._local = threading.local()  # this thread's batch: `seen` (work done), `record` (in hand)
        self._queue_urls: dict[str, str] = {}
        self._active, self._active_lock = 0, threading.Lock()
        if isolate_apps:
            dispatcher.offload = self.offload
            dispatcher.follow_ups = self.follow_ups

    @property
    def _batch_seen(self) -> dict[str, bool]:
        seen = getattr(self._local, "seen", None)
        if seen is None:
            seen = self._local.seen = {}
        return seen

    # ---------------------------------------------------------------- the queue (the EventQueue port)
    def queue_url(self, record: SQSRecord) -> str:
        if self._queue_url:
            return self._queue_url
        arn = record.event_source_arn or ""
        if arn not in self._queue_urls:
            parts = arn.split(":")
            if len(parts) < 6:
                raise BadEvent(f"the record's eventSourceARN {arn!r} names no queue")
            self._queue_urls[arn] = self.queue.url_of(parts[5], parts[4])
        return self._queue_urls[arn]

    def _set_visibility(self, record: SQSRecord, seconds: float) -> None:
        seconds = int(max(0, min(MAX_VISIBILITY, round(seconds))))
        try:
            self.queue.set_visibility(self.queue_url(record), record.receipt_handle, seconds)
        except Exception as exc:  # noqa: BLE001 - the queue's own timeout applies then
            log.warning("change_message_visibility failed: %s", exc)

    def _requeue(self, record: SQSRecord, body: dict[str, Any], delay: float) -> bool:
        """Send a fresh copy of a message about to reach maxReceiveCount on a transient failure."""
        copy = dict(body)
        copy["not_before"] = round(self.clock() + delay, 3)
        copy["requeued"] = int(body.get("requeued") or 0) + 1
        text = json.dumps(copy, separators=(",", ":"))
        group = record.attributes.message_group_id
        message = (QueueMessage(text, group=group, dedup_id=uuid.uuid4().hex) if group
                   else QueueMessage(text, delay_seconds=int(min(900, max(0, delay)))))
        try:
            self.queue.send(self.queue_url(record), message)
            return True
        except Exception as exc:  # noqa: BLE001
            log.warning("requeue failed, leaving the message to the queue: %s", exc, extra=event_ids(body))
            return False

    def _sending(self) -> tuple[str | None, str]:
        """(the queue to send to, the origin) for messages the work in hand gives rise to; the origin is the
        deduplication id of the message in hand (its message id when it has none), so a redelivered message
        gives rise to the same messages again, which SQS drops."""
        record: SQSRecord | None = getattr(self._local, "record", None)
        url = self._queue_url or (self.queue_url(record) if record is not None else None)
        if record is None:
            return url, uuid.uuid4().hex
        return url, record.attributes.message_deduplication_id or record.message_id

    @staticmethod
    def _message(event: dict[str, Any], group: str, dedup_id: str) -> QueueMessage:
        """One FIFO message of `event` in message group `group` (its `at` now when it has none)."""
        body = {**event, "at": event.get("at") or datetime.now(timezone.utc).isoformat(timespec="milliseconds")}
        return QueueMessage(json.dumps(body, separators=(",", ":")), group=group[:128], dedup_id=dedup_id)

    def offload(self, share: dict[str, Any], slug: str) -> bool:
        """Send an app's share of the event in hand to the app's own message group (the dispatcher's port)."""
        url, origin = self._sending()
        if not url:
            return False
        try:
            dedup_id = hashlib.sha256(f"{origin}:{slug}".encode()).hexdigest()[:64]
            self.queue.send(url, self._message(share, SLOW_GROUP_PREFIX + slug, dedup_id))
        except Exception as exc:  # noqa: BLE001 - the dispatcher does the share inline then
            log.warning("offload to the app's group failed: %s", exc, extra=event_ids(share))
            return False
        return True

    def follow_ups(self, events: list[dict[str, Any]]) -> None:
        """Send events the work in hand gives rise to (a group's members in one app, one event each), each in
        its entity's message group, 10 a call (the dispatcher's port); raises when a send fails, so the
        dispatcher does that work inline instead. Their deduplication ids are those of the member events the
        admin API published with the group's own event (`member_event_id`): SQS drops these copies then."""
        url, origin = self._sending()
        if not url:
            raise RuntimeError("no queue to send follow-up events to")
        for i in range(0, len(events), 10):
            messages = [self._message(event, str(event["id"]), member_event_id(origin, str(event["id"]), str(event["app"])))
                        for event in events[i : i + 10]]
            failed = self.queue.send_batch(url, messages)
            if failed:
                raise RuntimeError(f"{len(failed)} follow-up events were not sent: {failed[0]}")

    # ---------------------------------------------------------------- one record
    def handle_record(self, record: SQSRecord) -> None:
        self._local.record = record
        try:
            self._handle_record(record)
        finally:
            self._local.record = None

    def _handle_record(self, record: SQSRecord) -> None:
        receive_count = int(record.attributes.approximate_receive_count or 1)
        try:
            body = json.loads(record.body)
        except ValueError:
            self._set_visibility(record, self.permanent_delay)
            raise BadEvent("the message body is not JSON") from None
        if not isinstance(body, dict):
            self._set_visibility(record, self.permanent_delay)
            raise BadEvent("the message body is not a JSON object")
        not_before = float(body.get("not_before") or 0)
        if not_before > self.clock() + 0.5:
            self._set_visibility(record, not_before - self.clock())
            raise _Deferred(f"not before {not_before}")
        key = json.dumps([body.get("type"), body.get("id"), body.get("app")])
        if key in self._batch_seen:
            return  # the same work was done (or is being retried) by an earlier record of this batch
        self._batch_seen[key] = True
        try:
            self.dispatcher.apply(body)
        except BadEvent:
            self._set_visibility(record, self.permanent_delay)
            raise
        except EventFailed as failed:
            delay = self._delay_for(failed, receive_count)
            if body.get("offloaded") and failed.transient and failed.retry_after() is None and not failed.auth:
                # The head of an app's own group holds every later share of that app (FIFO): come back soon;
                # the app's breaker, not this message's backoff, keeps a failing SP from being hammered.
                delay = min(delay, OFFLOADED_RETRY_SECONDS)
            if failed.transient and receive_count >= self.max_receive_count - 1:
                if self._requeue(record, body, delay):
                    log.info("requeued %s after %d receives: %s", key, receive_count, failed, extra=event_ids(body))
                    return
            self._set_visibility(record, delay)
            raise

    def _delay_for(self, failed: EventFailed, receive_count: int) -> float:
        if not failed.transient:
            return self.permanent_delay
        if failed.auth:
            return self.dispatcher.breaker.auth_retry
        after = failed.retry_after()
        if after is not None:
            return max(1.0, after)
        return max(1.0, backoff_seconds(receive_count, self.backoff_base, self.backoff_cap, self.rand()))

    # ---------------------------------------------------------------- a batch
    def handle_batch(self, event: dict[str, Any], context: Any = None, correlate: Callable[[str], None] | None = None) -> PartialItemFailureResponse:
        """One Lambda invocation. With a Lambda `context`, a short Retry-After (429) is waited out
        inside the invocation as long as its remaining time allows (see retry_budget.INLINE_RETRY_*);
        without one (tests, local runs) every 429 goes back to the queue. Provisioning-log entries
        are written in batches, all of them before this returns. `correlate(message_id)` is called
        before each record (the handler's logger takes it as the correlation id)."""
        self._local.seen = {}
        self.dispatcher.begin_invocation()
        processor = BatchProcessor(event_type=EventType.SQS)
        engine = self.dispatcher.engine
        remaining = _remaining_seconds(context)
        with self._active_lock:  # pollers in one process share the engine: the last one out clears its deadline
            self._active += 1
            engine.set_deadline(remaining)

        def handle(record: SQSRecord) -> None:
            if correlate is not None:
                correlate(record.message_id)
            self.handle_record(record)

        try:
            with self.dispatcher.buffer.buffered(), deadline_scope(None if remaining is None else max(1.0, remaining - INVOCATION_MARGIN)):
                return process_partial_response(event=event, record_handler=handle, processor=processor,
                                                context=context)
        finally:
            with self._active_lock:
                self._active -= 1
                if not self._active:
                    engine.set_deadline(None)
            self._local.seen = {}
            if self.metrics:
                self.metrics.flush()


def event_ids(body: dict[str, Any]) -> dict[str, Any]:
    """The `extra` of a log line about one event: its app (when it names one) and its user or group."""
    extra: dict[str, Any] = {"event_type": body.get("type")}
    if body.get("app"):
        extra["app"] = body["app"]
    kind = str(body.get("type") or "")
    if body.get("id") and kind.startswith(("user.", "group.")):
        extra["user_id" if kind.startswith("user.") else "group_id"] = body["id"]
    elif body.get("id"):
        extra["entity_id"] = body["id"]
    return extra


def _remaining_seconds(context: Any) -> float | None:
    getter = getattr(context, "get_remaining_time_in_millis", None)
    if getter is None:
        return None
    try:
        return max(0.0, float(getter()) / 1000.0)
    except (TypeError, ValueError):
        return None


class _Deferred(Exception):
    pass
