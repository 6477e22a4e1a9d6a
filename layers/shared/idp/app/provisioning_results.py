"""What the provisioning admin use case answers (`idp.app.provisioning_admin`), as typed values; `as_json()` is the
admin API's body (contract section 2), the console renders the values themselves."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping


@dataclass(frozen=True)
class ConnectionTest:
    """Test Connection: authenticated and listed a user, or what failed; a full test adds the steps of its test
    user (``step``, ``ok``, ``sp_status``, ``detail``)."""

    ok: bool
    detail: str
    steps: tuple[Mapping[str, Any], ...] | None = None

    @classmethod
    def of(cls, answer: Mapping[str, Any]) -> ConnectionTest:
        steps = answer.get("steps")
        return cls(bool(answer.get("ok")), str(answer.get("detail") or ""), None if steps is None else tuple(steps))

    def as_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"ok": self.ok, "detail": self.detail}
        if self.steps is not None:
            body["steps"] = [dict(step) for step in self.steps]
        return body


@dataclass(frozen=True)
class SyncSummary:
    """A synchronous sync: ``result`` reconciled, halted (the deprovisioning guard), skipped, or the failure's class
    (auth_failed, retry_later, failed) with its ``detail``; ``report`` is the reconcile's own summary (counts per
    outcome, the entities that failed, the guard's figures), empty when the sync failed as a whole."""

    ok: bool
    result: str
    detail: str | None = None
    report: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, answer: Mapping[str, Any]) -> SyncSummary:
        ok, result = bool(answer.get("ok")), str(answer.get("result") or "")
        if "app" in answer:  # the reconcile ran (or was skipped or halted): its summary is the answer
            return cls(ok, result, answer.get("reason"), {k: v for k, v in answer.items() if k != "ok"})
        return cls(ok, result, answer.get("detail"))

    def as_json(self) -> dict[str, Any]:
        if self.report:
            return {"ok": self.ok, **self.report}
        return {"ok": self.ok, "result": self.result, "detail": self.detail}


@dataclass(frozen=True)
class SyncQueued:
    """An asynchronous sync: an ``app.sync`` event is on the queue."""

    queued: bool = True

    def as_json(self) -> dict[str, Any]:
        return {"queued": self.queued}


@dataclass(frozen=True)
class ProvisionResult:
    """"Provision this user now": whether it worked, what was done (created, updated, no_change, skipped ... or the
    failure's class: failed, retry_later, auth_failed), why, the SP's HTTP status when it refused, the SCIM requests
    it took, and the user's newest provisioning log entries (read after a failure too)."""

    ok: bool
    outcome: str
    detail: str = ""
    sp_status: int | None = None
    requests: int | None = None
    kind: str | None = None  # user, when the push ran
    user_id: str | None = None
    app: str | None = None
    log: tuple[Mapping[str, Any], ...] = ()

    @property
    def pushed(self) -> bool:
        """The push ran to its end (its outcome is the SP's state now)."""
        return self.kind is not None

    def as_json(self) -> dict[str, Any]:
        if self.pushed:
            return {"ok": self.ok, "kind": self.kind, "id": self.user_id, "app": self.app, "outcome": self.outcome,
                    "detail": self.detail, "requests": self.requests, "log": [dict(e) for e in self.log]}
        body: dict[str, Any] = {"ok": self.ok, "outcome": self.outcome, "detail": self.detail}
        if self.outcome != "skipped":
            body["sp_status"] = self.sp_status
        return body


@dataclass(frozen=True)
class Counts:
    in_sync: int = 0
    pending: int = 0
    failed: int = 0

    def as_json(self) -> dict[str, int]:
        return {"in_sync": self.in_sync, "pending": self.pending, "failed": self.failed}


@dataclass(frozen=True)
class ProvisioningStatus:
    """What is true of an app's provisioning: ``state`` (ok, degraded, failing, auth_failed, halted, disabled,
    not_configured ...), the users and groups in sync / pending / failed against what the directory wants now, why
    they drift, the last error and reconcile, and the seconds until an open circuit breaker lets requests through."""

    app: str
    enabled: bool
    state: str
    users: Counts = field(default_factory=Counts)
    groups: Counts = field(default_factory=Counts)
    reason: str | None = None
    drift: tuple[Mapping[str, Any], ...] = ()
    last_error: str | None = None
    last_error_at: str | None = None
    last_reconcile_at: str | None = None
    last_reconcile: Mapping[str, Any] | None = None
    retry_in_seconds: float | None = None

    @classmethod
    def unavailable(cls, slug: str) -> ProvisioningStatus:
        """The status of an app whose provisioning state could not be read (the dashboard still renders)."""
        return cls(slug, False, "error", last_error="status unavailable")

    @property
    def in_sync(self) -> int:
        return self.users.in_sync + self.groups.in_sync

    @property
    def pending(self) -> int:
        return self.users.pending + self.groups.pending

    @property
    def failed(self) -> int:
        return self.users.failed + self.groups.failed

    def as_json(self) -> dict[str, Any]:
        return {"app": self.app, "enabled": self.enabled, "state": self.state, "reason": self.reason,
                "in_sync": self.in_sync, "pending": self.pending, "failed": self.failed,
                "users": self.users.as_json(), "groups": self.groups.as_json(), "drift": [dict(d) for d in self.drift],
                "last_error": self.last_error, "last_error_at": self.last_error_at,
                "last_reconcile_at": self.last_reconcile_at, "last_reconcile": self.last_reconcile,
                "retry_in_seconds": self.retry_in_seconds}


@dataclass(frozen=True)
class LogPage:
    """A page of the provisioning log, newest first, and the cursor of the next page (None at the end)."""

    items: tuple[Mapping[str, Any], ...]
    next_cursor: str | None

    def as_json(self) -> dict[str, Any]:
        return {"items": [dict(e) for e in self.items], "next_cursor": self.next_cursor}
