"""The SSO's audit events off the request path (issue 25 item 5): `ShippedAuditLog`, an AuditSink that writes
each event as ONE log line `{"idp_audit": <item>}` instead of a PutItem, the item exactly the one
`DynamoAuditLog` would write (same id, shard keys, TTL: `DynamoAuditLog.item_of`).

The line is written synchronously and flushed before `record` returns, so before the answer is: in AWS to stdout
(`StdoutLines`), which Lambda hands to the function's CloudWatch log group, whose subscription filter invokes
AuditShipFunction (functions/audit_ship, idp.adapters.audit_ship_writer), which writes the items with
BatchWriteItem; locally to an append-only spool file (`SpoolLines`), which the local stack's
audit shipper delivers to the same writer. What it relies on in AWS: a line the function
wrote to stdout before it returned reaches its log group even if the execution environment is then frozen
or killed (Lambda's runtime collects stdout as it is written, outside the function's process), and
CloudWatch Logs delivers a subscription's batches at least once (the writer is idempotent: an item written
twice is the same item).

The item's fields are plain JSON (strings, whole numbers, lists, maps: `DynamoAuditLog.item_of` holds no float),
so the writer gets back exactly the item. A line that cannot be written is logged and counted
(AuditWriteFailures), never raised into the sign-in."""
from __future__ import annotations

import json
import os
import sys
import threading
from contextlib import nullcontext
from typing import Any, ContextManager, Protocol

from idp.kernel.audit import AuditEvent

LINE_KEY = "idp_audit"


class Lines(Protocol):
    """Where shipped lines go: `write` returns once the line is out of the process (written and flushed)."""

    def write(self, line: str) -> None: ...


class StdoutLines:
    """In AWS: one line on the process's stdout, flushed (Lambda sends stdout to the function's log group)."""

    def __init__(self, stream: Any = None) -> None:
        self.stream = stream
        self.lock = threading.Lock()

    def write(self, line: str) -> None:
        stream = self.stream or sys.stdout
        with self.lock:
            stream.write(line + "\n")
            stream.flush()


class SpoolLines:
    """The local stack: the line appended to a spool file (O_APPEND, one write call a line, so threads and
    processes never interleave), out of the process when `write` returns."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.lock = threading.Lock()
        self._fd: int | None = None

    def write(self, line: str) -> None:
        data = (line + "\n").encode("utf-8")
        with self.lock:
            if self._fd is None:
                os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
                self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            os.write(self._fd, data)


class ItemMaker(Protocol):
    """The audit log as the shipper uses it: the item of an event, and the failure report."""

    def item_of(self, event: AuditEvent) -> dict[str, Any]: ...

    def failed(self, events: list[AuditEvent], exc: Exception) -> None: ...


class ShippedAuditLog:
    """AuditSink: each event one `{"idp_audit": <item>}` line, written before `record` returns."""

    def __init__(self, log: ItemMaker, lines: Lines, *, metrics: Any = None) -> None:
        self.log = log
        self.lines = lines
        self.metrics = metrics

    def batched(self) -> ContextManager[None]:
        """Lines are written as events are recorded: a block holds nothing back (so it loses nothing)."""
        return nullcontext()

    def record(self, event: AuditEvent) -> None:
        try:
            self.lines.write(line_of(self.log.item_of(event)))
        except Exception as exc:  # noqa: BLE001 - an audit write never breaks what it records
            self.log.failed([event], exc)
            return
        if self.metrics is not None:
            self.metrics.recorded(event)


def line_of(item: dict[str, Any]) -> str:
    """The log line of an item: compact JSON, one line (json.dumps escapes every newline)."""
    return json.dumps({LINE_KEY: item}, separators=(",", ":"), ensure_ascii=False)
