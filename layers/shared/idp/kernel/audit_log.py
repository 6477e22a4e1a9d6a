"""The audit log's rules that every store of it shares (DynamoDB, the tests' in-memory one): event ids
that sort newest first and stay unique under concurrency, the query of GET /admin/events (its filters
checked once, a 400 naming the parameter), what a stored event looks like to the API, and the failure
metric's name."""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Mapping

from idp.kernel.audit import OUTCOMES, AuditEvent
from idp.kernel.errors import DomainError

ID_PREFIX = "ev-"
_MAX_MS = 10**13 - 1  # inverted milliseconds stay 13 digits until the year 2286
WRITE_FAILURE_METRIC = "AuditWriteFailures"
DEFAULT_RETENTION_DAYS = 90


def event_id(at_ms: int) -> str:
    """``ev-<inverted ms><64 random bits>``: ascending order is newest first; two writers in one millisecond differ."""
    return f"{ID_PREFIX}{_MAX_MS - at_ms:013d}{secrets.token_hex(8)}"


def id_boundary(at_ms: int) -> str:
    """The sort key just before every id of ``at_ms`` (ids of later times sort before it)."""
    return f"{ID_PREFIX}{_MAX_MS - at_ms:013d}"


def id_ms(eid: str) -> int:
    """The millisecond an id (or boundary) was made for."""
    return _MAX_MS - int(eid[len(ID_PREFIX):len(ID_PREFIX) + 13])


def iso_ms(at_ms: int) -> str:
    return datetime.fromtimestamp(at_ms / 1000, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def day_of(at_ms: int) -> str:
    return datetime.fromtimestamp(at_ms / 1000, timezone.utc).strftime("%Y-%m-%d")


def days_between(newest_ms: int, oldest_ms: int) -> list[str]:
    """The UTC days from the newest to the oldest, newest first."""
    day = datetime.fromtimestamp(newest_ms / 1000, timezone.utc).date()
    last = datetime.fromtimestamp(oldest_ms / 1000, timezone.utc).date()
    out = []
    while day >= last:
        out.append(day.isoformat())
        day -= timedelta(days=1)
    return out


def event_view(eid: str, at_ms: int, event: AuditEvent) -> dict[str, object]:
    """An event as GET /admin/events answers it (absent facts are left out)."""
    view: dict[str, object] = {"id": eid, "at": iso_ms(at_ms), "type": event.type, "outcome": event.outcome, "actor": event.actor.to_dict()}
    for name in ("user_id", "app", "ip", "user_agent", "reason"):
        value = getattr(event, name)
        if value:
            view[name] = value
    if event.changes:
        view["changes"] = list(event.changes)
    if event.detail:
        view["detail"] = {k: v for k, v in event.detail.items() if v is not None}
    return view


def _time(name: str, raw: str | None) -> int | None:
    if raw in (None, ""):
        return None
    try:
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00").replace(" ", "+"))
    except ValueError:
        raise DomainError(400, "invalid_query", f"query parameter '{name}' must be an ISO 8601 time like "
                                               "2026-12-01T09:00:00Z") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return int(parsed.timestamp() * 1000)


@dataclass(frozen=True)
class AuditQuery:
    """The filters of GET /admin/events; ``since``/``until`` are epoch ms (inclusive), None = unbounded."""

    type: str | None = None
    user_id: str | None = None
    app: str | None = None
    outcome: str | None = None
    since: int | None = None
    until: int | None = None

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> "AuditQuery":
        """The query from the request's parameters, or a 400 naming the bad one."""
        get = params.get
        outcome = get("outcome") or None
        if outcome is not None and outcome not in OUTCOMES:
            raise DomainError(400, "invalid_query", "query parameter 'outcome' must be 'success' or 'failure'")
        for name in ("type", "user_id", "app"):
            if len(get(name) or "") > 200:
                raise DomainError(400, "invalid_query", f"query parameter '{name}' is too long")
        query = cls(type=get("type") or None, user_id=get("user_id") or None, app=get("app") or None, outcome=outcome,
                    since=_time("since", get("since")), until=_time("until", get("until")))
        if query.since is not None and query.until is not None and query.since > query.until:
            raise DomainError(400, "invalid_query", "query parameter 'since' is after 'until'")
        return query

    @property
    def type_prefix(self) -> str | None:
        """``admin.`` for ``type=admin.*``: a type ending in ``.*`` matches every type under it."""
        return self.type[:-1] if self.type and self.type.endswith(".*") else None

    def matches(self, view: Mapping[str, object]) -> bool:
        """Whether a stored event (as event_view shows it) passes every filter but the time range."""
        if self.type_prefix is not None and not str(view.get("type", "")).startswith(self.type_prefix):
            return False
        return all(value is None or view.get(name) == value
                   for name, value in (("type", None if self.type_prefix else self.type), ("user_id", self.user_id),
                                       ("app", self.app), ("outcome", self.outcome)))

