"""The write buffer the mapping and log stores share: inside `buffered()`, provisioning-log entries
and the mapping items of leased creates are held per thread and written with BatchWriteItem, 25 at
a time, instead of one call each; the audit events the log entries raise are batched alongside
(`AuditSink.batched`)."""
from __future__ import annotations

import contextlib
import threading

from aws_lambda_powertools import Logger

from idp.adapters.dynamo import put_items
from idp.adapters.provisioning.items import BATCH_SIZE
from idp.kernel.audit import AuditSink, NullAudit

log = Logger(child=True)


class _Held(threading.local):
    """Per thread: the writes held back inside `buffered()`."""

    def __init__(self):
        self.depth = 0
        self.maps: dict[tuple[str, str], dict] = {}  # (pk, sk) -> the whole mapping item
        self.logs: list[dict] = []


class DynamoWriteBuffer:
    def __init__(self, table, audit: AuditSink | None = None):
        self.table = table
        self.audit: AuditSink = audit or NullAudit()  # the log store's sink: its events are batched with the run
        self._held = _Held()

    @contextlib.contextmanager
    def buffered(self):
        """Inside: provisioning-log entries and the mapping items of fresh creates (`put_created`)
        are held and written with BatchWriteItem, 25 at a time, instead of one call each. Everything
        held is written when 25 are waiting, before any other read or write of a mapping item (so
        this process reads its own writes, in order), and when the block ends, also on an
        exception. A failed flush of mapping items raises (when nothing else is raising); a failed
        flush of log entries is logged and dropped (the log never stops provisioning). The audit
        events of the run are batched too (DynamoAuditLog.batched)."""
        held = self._held
        held.depth += 1
        ok = False
        try:
            with self.audit.batched():
                yield self
            ok = True
        finally:
            held.depth -= 1
            try:
                self.flush()
            except Exception:  # the held writes are dropped whatever failed, then it propagates
                if held.depth == 0:  # never carry held writes into a later, unrelated unit of work
                    held.maps.clear()
                    held.logs.clear()
                if ok:
                    raise
                log.exception("flushing buffered provisioning state failed (while handling another error)")

    @property
    def buffering(self) -> bool:
        return self._held.depth > 0

    def pending(self) -> int:
        return len(self._held.maps) + len(self._held.logs)

    def flush(self) -> None:
        """Write what is held: mapping items first (a failure raises and keeps them held), then
        log entries (a failure is logged and they are dropped)."""
        self.flush_maps()
        held = self._held
        if held.logs:
            logs, held.logs = held.logs, []
            try:
                put_items(self.table, logs)
            except Exception:  # the log never stops provisioning
                log.exception("provisioning log write failed (%d entries)", len(logs))

    def flush_maps(self) -> None:
        held = self._held
        if held.maps:
            items = list(held.maps.values())
            put_items(self.table, items)
            held.maps.clear()

    def before_map_io(self) -> None:
        """Any direct read or write of mapping items first writes the held ones (order, own reads)."""
        if self._held.maps:
            self.flush_maps()

    def held_map(self, pk: str, sk: str) -> dict | None:
        return self._held.maps.get((pk, sk))

    def hold_map(self, item: dict) -> None:
        self._held.maps[(item["pk"], item["sk"])] = item
        self._flush_when_full()

    def hold_log(self, item: dict) -> None:
        self._held.logs.append(item)
        self._flush_when_full()

    def _flush_when_full(self) -> None:
        if self.pending() >= BATCH_SIZE:
            self.flush()
