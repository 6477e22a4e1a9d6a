"""A fast in-memory audit log for tests: the same AuditSink and query as idp.adapters.audit_log (ids,
order, filters, time range, cursors), with a list in place of the table; `fail_writes` makes record()
fail the way a DynamoDB outage would (counted, never raised)."""
from __future__ import annotations

import threading
import time
from contextlib import nullcontext
from typing import Callable

from idp.adapters.audit_log import after_of, cursor_for, key_range
from idp.kernel.audit import AuditEvent
from idp.kernel.audit_log import DEFAULT_RETENTION_DAYS, AuditQuery, event_id, event_view


class MemoryAudit:
    def __init__(self, retention_days: int = DEFAULT_RETENTION_DAYS, clock: Callable[[], float] = time.time):
        self.retention_days = retention_days
        self.clock = clock
        self.events: list[AuditEvent] = []  # what was recorded, oldest first (for assertions)
        self._views: dict[str, dict] = {}
        self._lock = threading.Lock()
        self.fail_writes = False
        self.write_failures = 0

    def batched(self):
        return nullcontext()

    def record(self, event: AuditEvent) -> None:
        with self._lock:
            if self.fail_writes:
                self.write_failures += 1
                return
            now_ms = int(self.clock() * 1000)
            eid = event_id(now_ms)
            self.events.append(event)
            self._views[eid] = {**event_view(eid, now_ms, event), "_expires": now_ms + self.retention_days * 86_400_000}

    def query(self, query: AuditQuery, limit: int = 50, cursor: str | None = None) -> tuple[list[dict], str | None]:
        after = after_of(cursor)
        now_ms = int(self.clock() * 1000)
        oldest = now_ms - self.retention_days * 86_400_000
        since = max(query.since if query.since is not None else oldest, oldest)
        low, high = key_range(AuditQuery(since=since, until=query.until), after)
        with self._lock:
            found = [{k: v for k, v in view.items() if k != "_expires"} for eid, view in sorted(self._views.items())
                     if low <= eid <= high and view["_expires"] > now_ms and query.matches(view)]
        if len(found) > limit:
            return found[:limit], cursor_for(found[limit - 1]["id"])
        return found, None

    def of_type(self, prefix: str) -> list[AuditEvent]:
        return [e for e in self.events if e.type == prefix or e.type.startswith(prefix + ".")]
