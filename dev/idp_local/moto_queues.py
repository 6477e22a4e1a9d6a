"""SQS for the embedded AWS at the cost of the message it sends or receives, not of the queue.

moto 5.2.5 reads a queue's settings through `Queue.attributes`, which also counts the queue's messages
(ApproximateNumberOfMessages, ...NotVisible, ...Delayed: one pass over every message each, with a clock
read per message). Sending a message read it three times (`_validate_message` twice, `add_message`,
`send_message` once more; `send_message_batch` validates each entry before sending it) and receiving one read it again (`is_message_valid_based_on_retention_period`),
only to learn ContentBasedDeduplication or MessageRetentionPeriod. So every message cost passes over the
whole backlog: in the converge benchmark, SQS bookkeeping was the largest part of the embedded AWS's time.

While moto sends a message or checks a retention period, this version answers the three counts with 0
(those callers read other keys of the dict); everywhere else, `GetQueueAttributes` included, they are
counted as before.

A long poll of a FIFO queue (`receive_message` with WaitTimeSeconds) also differs from SQS in moto: it
notes the message groups in flight when the poll starts and never looks again, so a group freed by a
delete during the poll is not delivered until the poll ends (up to WaitTimeSeconds later, with the
queue's other messages already in hand elsewhere); and while only such messages are visible it spins,
re-reading the queue without pause. Here a long poll is a series of immediate receives, each with the
groups in flight as they are then, waiting up to `LONG_POLL_STEP` seconds (or until a message is sent)
between them, until something is received or the wait is over.
`install()` patches moto's classes for this process.
"""
from __future__ import annotations

import functools
import threading
import time

_settings_only = threading.local()
COUNTS = ("approximate_number_of_messages", "approximate_number_of_messages_delayed",
          "approximate_number_of_messages_not_visible")
#: moto's own counting functions, by property name (the tests watch them).
ORIGINAL: dict = {}
LONG_POLL_STEP = 0.05  # seconds between two looks of a long poll that found nothing


def _long_polling(receive):
    @functools.wraps(receive)
    def receive_message(self, queue_name, count, wait_seconds_timeout, visibility_timeout,
                        message_attribute_names=None):
        end = time.monotonic() + float(wait_seconds_timeout or 0)
        queue = self.get_queue(queue_name)
        while True:
            got = receive(self, queue_name, count, 0, visibility_timeout, message_attribute_names)
            left = end - time.monotonic()
            if got or left <= 0:
                return got
            with queue._messages_lock:  # notified when a message is sent
                queue._messages_lock.wait(min(LONG_POLL_STEP, left))
    return receive_message


def _counted(name: str):
    def count(self) -> int:
        return 0 if getattr(_settings_only, "on", False) else ORIGINAL[name](self)
    return property(count)


def _reading_settings(method):
    @functools.wraps(method)
    def call(*args, **kwargs):
        before = getattr(_settings_only, "on", False)
        _settings_only.on = True
        try:
            return method(*args, **kwargs)
        finally:
            _settings_only.on = before
    return call


@functools.cache
def install() -> None:
    """Patch moto once per process; a second call does nothing."""
    from moto.sqs.models import Queue, SQSBackend

    for name in COUNTS:
        ORIGINAL[name] = getattr(Queue, name).fget
        setattr(Queue, name, _counted(name))
    SQSBackend.send_message = _reading_settings(SQSBackend.send_message)
    SQSBackend._validate_message = _reading_settings(SQSBackend._validate_message)  # send_message_batch calls it first
    SQSBackend.receive_message = _long_polling(SQSBackend.receive_message)
    SQSBackend.is_message_valid_based_on_retention_period = _reading_settings(
        SQSBackend.is_message_valid_based_on_retention_period)
