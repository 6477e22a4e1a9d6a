"""The audit log in DynamoDB (contract section 8): one item per event in the directory table.

| access path | key | used when |
|---|---|---|
| every event of a UTC day | pk `AUDIT#{yyyy-mm-dd}#{shard}`, sk `{event id}` | no user or app filter (type, outcome, time filter it) |
| a user's events | gsi1pk `AUDIT#USER#{uid}`, gsi1sk `{event id}` | `user_id=` (other filters applied to it) |
| an app's events | gsi2pk `AUDIT#APP#{slug}#{shard}`, gsi2sk `{event id}` | `app=` without `user_id=` |

Event ids sort newest first (idp.kernel.audit_log), so every path is read in ascending key order and a
time range is a key range.

No hot key (issue 25, contract section 13): a day's events, and an app's, are spread over SHARDS partition
keys, the shard taken from the event id's random bits. DynamoDB takes at most 1,000 writes a second on one
partition key (and ids that rise with time defeat its split for heat), so unsharded every sign-in of the whole
directory would write one key and every SSO to an app one GSI key: 1,000 sign-ins/s in all. With 16 shards a
sign-in (an SSO event, and a login event) puts at most 2/16 = 0.125 writes on any key. A reader queries every
shard of a path and merges them by id (`_merged`): a page of GET /admin/events costs at least one query per
shard. `expires_at` (TTL) is now + the retention; reads skip expired items, since TTL
deletion lags (and moto has none). Cost: an event is one write to the table and one to each index it is
in (at most three); a query filtered only by type or outcome reads every event of the days it spans and
drops what does not match (per page at most MAX_QUERIES requests, then it answers with a cursor).

A write that fails is logged (the event's type, app and user, never its detail) and counted as the
AuditWriteFailures metric (alarm in template.yaml); it never raises into the sign-in or change that
recorded it. Inside `batched()` (a provisioning run: one event per log entry) events are held and
written with BatchWriteItem, 25 a call, when 25 wait and when the block ends (an exception included)."""
from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Callable, Iterator

from aws_lambda_powertools import Logger
from boto3.dynamodb.conditions import Attr, Key

from idp.adapters.dynamo import decode_cursor, encode_cursor, from_ddb, put_items
from idp.kernel.audit import AuditEvent
from idp.kernel.audit_log import (
    DEFAULT_RETENTION_DAYS,
    ID_PREFIX,
    AuditQuery,
    day_of,
    days_between,
    event_id,
    event_view,
    id_boundary,
    id_ms,
)

log = Logger(child=True)

SHARDS = 16  # partition keys per day and per app (a power of two: the shard is the id's last hex digit)
MAX_QUERIES = 4 * SHARDS  # DynamoDB requests one page of GET /admin/events may make
BATCH = 25  # BatchWriteItem's limit
_held: ContextVar["_Held | None"] = ContextVar("idp_audit_held", default=None)
_KEYS = ("pk", "sk", "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk", "expires_at")
_DAY_MS = 86_400_000
_SKEW_MS = 5 * 60_000  # writers' clocks may run a little ahead of the reader's


class _Held(list):
    """The events one `batched()` block holds, and the thread holding them: a worker thread running in a copy
    of the block's context (a parallel reconcile, `idp.provisioning.parallel`) holds its own, never appends
    to another thread's list."""

    def __init__(self) -> None:
        super().__init__()
        self.owner = threading.get_ident()


def _mine() -> "_Held | None":
    held = _held.get()
    return held if held is not None and held.owner == threading.get_ident() else None


def cursor_for(after: str) -> str:
    return encode_cursor({"after": after})


def after_of(cursor: str | None) -> str | None:
    """The sort key a cursor continues after (400 for a cursor this API did not give)."""
    key = decode_cursor(cursor, {"after": ID_PREFIX})
    return key["after"] if key else None


def key_range(query: AuditQuery, after: str | None) -> tuple[str, str]:
    """The sort-key range (inclusive) of the query's time range, past ``after``."""
    low = id_boundary(query.until) if query.until is not None else ID_PREFIX
    if after and after + "!" > low:
        low = after + "!"
    high = id_boundary(query.since) + "~" if query.since is not None else ID_PREFIX + "~"
    return low, high


class DynamoAuditLog:
    """AuditSink over the directory table, and the reader of GET /admin/events."""

    def __init__(self, table, retention_days: int = DEFAULT_RETENTION_DAYS, *, metrics=None,
                 clock: Callable[[], float] = time.time):
        self.table = table
        self.retention_days = retention_days
        self.metrics = metrics
        self.clock = clock

    # ------------------------------------------------------------------ writing
    @contextmanager
    def batched(self) -> Iterator[None]:
        """Within: events are held and written 25 a call; the rest when the block ends."""
        if _mine() is not None:  # inside one already: the outer block writes
            yield
            return
        token = _held.set(_Held())
        try:
            yield
        finally:
            held = _held.get() or []
            _held.reset(token)
            self._write(held)

    def record(self, event: AuditEvent) -> None:
        """Append the event (its id and time taken now); a failing write is logged and counted, never raised."""
        try:
            item = self.item_of(event)
        except Exception as exc:  # noqa: BLE001 - an audit write never breaks what it records
            self._failed([event], exc)
            return
        held = _mine()
        if held is None:
            self._write([(item, event)])
            return
        held.append((item, event))
        if len(held) >= BATCH:
            batch, held[:] = list(held), []
            self._write(batch)

    def item_of(self, event: AuditEvent) -> dict[str, Any]:
        """The item `event` is stored as, its id and time taken now (also what idp.adapters.audit_shipping ships)."""
        now_ms = int(self.clock() * 1000)
        eid = event_id(now_ms)
        shard = shard_of(eid)
        item: dict[str, Any] = {"pk": f"AUDIT#{day_of(now_ms)}#{shard}", "sk": eid,
                                "expires_at": now_ms // 1000 + self.retention_days * 86_400,
                                **_stored(event_view(eid, now_ms, event))}
        if event.user_id:
            item.update(gsi1pk=f"AUDIT#USER#{event.user_id}", gsi1sk=eid)
        if event.app:
            item.update(gsi2pk=f"AUDIT#APP#{event.app}#{shard}", gsi2sk=eid)
        return item

    def _write(self, held: list[tuple[dict, AuditEvent]]) -> None:
        if not held:
            return
        try:
            put_items(self.table, [item for item, _event in held])
        except Exception as exc:  # noqa: BLE001 - an audit write never breaks what it records
            self._failed([event for _item, event in held], exc)
            return
        if self.metrics is not None:
            for _item, event in held:
                self.metrics.recorded(event)

    def failed(self, events: list[AuditEvent], exc: Exception) -> None:
        """Log and count events that could not be written (or shipped)."""
        self._failed(events, exc)

    def _failed(self, events: list[AuditEvent], exc: Exception) -> None:
        for event in events:
            log.warning("audit event not written type=%s outcome=%s app=%s user=%s error=%s", event.type, event.outcome,
                        event.app, event.user_id, type(exc).__name__, extra={"app": event.app, "user_id": event.user_id})
            if self.metrics is not None:
                self.metrics.write_failed(event)

    # ------------------------------------------------------------------ reading
    def query(self, query: AuditQuery, limit: int = 50, cursor: str | None = None) -> tuple[list[dict], str | None]:
        """One page of matching events, newest first, and the cursor of the next (None at the end)."""
        after = after_of(cursor)
        now_ms = int(self.clock() * 1000)
        oldest = now_ms - self.retention_days * _DAY_MS
        since = max(query.since if query.since is not None else oldest, oldest)
        bounded = AuditQuery(query.type, query.user_id, query.app, query.outcome, since, query.until)
        low, high = key_range(bounded, after)
        if low > high:
            return [], None
        filters = Attr("expires_at").gt(now_ms // 1000)
        if query.type_prefix is not None:
            filters &= Attr("type").begins_with(query.type_prefix)
        for name, value in (("type", None if query.type_prefix else query.type), ("outcome", query.outcome),
                            ("app", query.app if query.user_id else None)):
            if value is not None:
                filters &= Attr(name).eq(value)
        budget = [MAX_QUERIES]
        position = after
        out: list[dict] = []
        for index, pk_name, sk_name, keys in self._paths(bounded, after, now_ms):
            merged = _Merge(self.table, index, pk_name, sk_name, keys, filters, low, high, budget)
            for item in merged:
                out.append(_view(item))
                if len(out) > limit:
                    return out[:limit], cursor_for(out[limit - 1]["id"])
            if merged.spent:  # every event up to the frontier is in `out`: the next page starts past it
                position = max(position or "", merged.frontier or "") or None
                return out, cursor_for(position) if position else None
            if out:
                position = out[-1]["id"]
            if index is None:  # a day done: continue past its oldest millisecond
                day_start = _day_start_ms(keys[0][len("AUDIT#"):].split("#")[0])
                position = max(position or "", id_boundary(day_start) + "~")
        return out, None

    def _paths(self, query: AuditQuery, after: str | None, now_ms: int) -> list[tuple[str | None, str, str, list[str]]]:
        """The paths to read in order, each with its partition keys (its shards)."""
        if query.user_id:
            return [("gsi1", "gsi1pk", "gsi1sk", [f"AUDIT#USER#{query.user_id}"])]
        if query.app:
            return [("gsi2", "gsi2pk", "gsi2sk", [f"AUDIT#APP#{query.app}#{shard}" for shard in _ALL_SHARDS])]
        newest = query.until if query.until is not None else now_ms + _SKEW_MS
        if after:  # a cursor ending in "~" is past every id of its millisecond (a day read to its start)
            newest = min(newest, id_ms(after) - (1 if after.endswith("~") else 0))
        return [(None, "pk", "sk", [f"AUDIT#{day}#{shard}" for shard in _ALL_SHARDS])
                for day in days_between(newest, query.since or 0)]


_ALL_SHARDS = [format(n, "x") for n in range(SHARDS)]


def shard_of(eid: str) -> str:
    """The shard of an event: the last hex digit of its id's random part."""
    return format(int(eid[-1], 16) % SHARDS, "x")


class _Merge:
    """The events of one path's shards in ascending id order (newest first), read page by page. An event is
    given out once every shard has been read past it (the frontier), so the order is exact across shards.
    Stops early when the page's query budget is spent (`spent`; every event up to `frontier` was given)."""

    def __init__(self, table, index: str | None, pk_name: str, sk_name: str, keys: list[str], filters, low: str,
                 high: str, budget: list[int]):
        self.table, self.index, self.pk_name, self.sk_name = table, index, pk_name, sk_name
        self.filters, self.low, self.high, self.budget = filters, low, high, budget
        self.shards = [{"pk": pk, "buffer": [], "start": None, "done": False, "read_to": None} for pk in keys]
        self.spent = False
        self.frontier: str | None = None

    def _read(self, shard: dict) -> bool:
        if self.budget[0] <= 0:
            self.spent = True
            return False
        kwargs: dict[str, Any] = {
            "KeyConditionExpression": Key(self.pk_name).eq(shard["pk"]) & Key(self.sk_name).between(self.low, self.high),
            "FilterExpression": self.filters, "ScanIndexForward": True, "Limit": 200}
        if self.index:
            kwargs["IndexName"] = self.index
        if shard["start"]:
            kwargs["ExclusiveStartKey"] = shard["start"]
        page = self.table.query(**kwargs)
        self.budget[0] -= 1
        shard["buffer"].extend(page.get("Items", []))
        shard["start"] = page.get("LastEvaluatedKey")
        shard["done"] = not shard["start"]
        shard["read_to"] = shard["start"][self.sk_name] if shard["start"] else None
        return True

    def __iter__(self) -> Iterator[dict]:
        while True:
            for shard in self.shards:
                if not shard["buffer"] and not shard["done"] and not self._read(shard):
                    return
            open_ = [s["read_to"] for s in self.shards if not s["done"]]
            frontier = min(open_) if open_ else None  # None: every shard read to the end of the range
            ready: list[dict] = []
            for shard in self.shards:
                buffer = shard["buffer"]
                cut = len(buffer) if frontier is None else next(
                    (i for i, item in enumerate(buffer) if item[self.sk_name] > frontier), len(buffer))
                ready.extend(buffer[:cut])
                del buffer[:cut]
            ready.sort(key=lambda item: item[self.sk_name])
            if frontier is not None:
                self.frontier = frontier
            yield from ready
            if frontier is None:
                return



def _day_start_ms(day: str) -> int:
    from datetime import datetime, timezone

    return int(datetime.strptime(day, "%Y-%m-%d").replace(tzinfo=timezone.utc).timestamp() * 1000)


def _stored(view: dict) -> dict:
    """The view as an item: user agents and reasons cut to a sane length (they come from outside)."""
    item = dict(view)
    for name, size in (("user_agent", 400), ("reason", 200), ("ip", 64)):
        if name in item:
            item[name] = str(item[name])[:size]
    if "detail" in item:
        item["detail"] = {k: (v[:1000] if isinstance(v, str) else v) for k, v in item["detail"].items()}
    return item


def _view(item: dict) -> dict:
    return {k: v for k, v in from_ddb(item).items() if k not in _KEYS}
