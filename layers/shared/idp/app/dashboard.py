"""The console's dashboard (GET /console): every app with its SSO health (an active signing key), its newest SSO
answer and its provisioning status (the provisioning admin use case's, the one the admin API answers), the
change-event queue's backlog and dead letters, and the sign-in failures of the last 24 hours (audit log)."""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Protocol

from aws_lambda_powertools import Logger

from idp.app.ports import AppListing, AuditReader
from idp.app.provisioning_results import ProvisioningStatus
from idp.kernel.audit_log import AuditQuery
from idp.provisioning.ports import EventQueueStats, QueueDepths

log = Logger(child=True)

FAILURE_WINDOW_SECONDS = 24 * 3600


class ProvisioningStatuses(Protocol):
    def status(self, slug: str) -> ProvisioningStatus:
        """The app's provisioning status (`idp.app.provisioning_admin.ProvisioningAdmin.status`)."""
        ...


@dataclass(frozen=True)
class AppHealth:
    """One app's row: ``sso`` ok (an active signing key) or failed, a next key waiting, its provisioning status and
    its newest SSO answer or refusal (None: none yet, or the audit log unreadable)."""

    slug: str
    label: str
    sso: str
    next_key: bool
    provisioning: ProvisioningStatus
    last_sso: Mapping[str, Any] | None


@dataclass(frozen=True)
class Overview:
    apps: tuple[AppHealth, ...]
    queues: QueueDepths
    failures: tuple[Mapping[str, Any], ...] | None  # None: the audit log is unreadable
    next_cursor: str | None


class Dashboard:
    """The dashboard's reads; each part that cannot be read is shown as unavailable, never fails the page."""

    def __init__(self, directory: AppListing, provisioning: ProvisioningStatuses, audit: AuditReader,
                 queues: EventQueueStats, clock: Callable[[], float] = time.time) -> None:
        self.directory = directory
        self.provisioning = provisioning
        self.audit = audit
        self.queues = queues
        self.clock = clock

    def overview(self, *, limit: int, cursor: str | None = None) -> Overview:
        apps, next_cursor = self.directory.list_apps(limit, cursor)
        return Overview(tuple(self.app_health(app) for app in apps), self.queues.depths(),
                        self.recent_sign_in_failures(), next_cursor)

    def app_health(self, app: Mapping[str, Any]) -> AppHealth:
        slug = str(app["slug"])
        keys = app.get("signing_keys") or []
        try:
            prov = self.provisioning.status(slug)
        except Exception:  # one app's unreadable state must not take the dashboard down
            log.exception("dashboard: provisioning status unreadable", extra={"app": slug})
            prov = ProvisioningStatus.unavailable(slug)
        return AppHealth(slug, str(app.get("label") or slug),
                         "ok" if any(k.get("status") == "active" for k in keys) else "failed",
                         any(k.get("status") == "next" for k in keys), prov, self.last_sso(slug))

    def last_sso(self, slug: str) -> Mapping[str, Any] | None:
        """The app's newest SSO answer or refusal (audit log), or None."""
        try:
            items, _ = self.audit.query(AuditQuery(type="sso", app=slug), limit=1)
        except Exception:  # noqa: BLE001 - a convenience: the dashboard still renders
            log.warning("dashboard: audit log unreadable", extra={"app": slug})
            return None
        return items[0] if items else None

    def recent_sign_in_failures(self, limit: int = 10) -> tuple[Mapping[str, Any], ...] | None:
        """The newest failed logins and refused SSO answers of the last 24 hours, each with the user's username
        (None when the audit log is unreadable)."""
        since = int(self.clock() * 1000) - FAILURE_WINDOW_SECONDS * 1000
        found: list[dict[str, Any]] = []
        try:
            for kind in ("login", "sso"):
                items, _ = self.audit.query(AuditQuery(type=kind, outcome="failure", since=since), limit=limit)
                found += items
        except Exception:  # noqa: BLE001 - a convenience: the dashboard still renders
            log.warning("dashboard: audit log unreadable")
            return None
        names: dict[str, str] = {}
        for item in found:
            uid = item.get("user_id")
            if uid and uid not in names:
                names[uid] = str((self.directory.get_user(uid) or {}).get("username", uid))
        shown = [{**item, "username": names.get(item["user_id"]) if item.get("user_id") else None} for item in found]
        return tuple(sorted(shown, key=lambda e: e.get("at") or "", reverse=True)[:limit])
