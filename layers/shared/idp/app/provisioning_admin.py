"""Provisioning admin of one app, the one use case behind the admin API's provisioning routes
(idp.web.provisioning_routes) and the console's Identity Management and Provisioning log tabs
(idp.web.console.app_provisioning, the dashboard): Test Connection, sync now (or queued), provision one user now,
the status, and the provisioning log page by page. The route or page parses, calls one method, renders."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping

from idp.app.ports import Logins, LogPages, ReadScope
from idp.app.provisioning_results import (
    ConnectionTest,
    Counts,
    LogPage,
    ProvisioningStatus,
    ProvisionResult,
    SyncQueued,
    SyncSummary,
)
from idp.directory.ports import Publisher
from idp.kernel.errors import DomainError, invalid, not_found
from idp.kernel.events import event

if TYPE_CHECKING:  # the reconciler, the planner and the SCIM client load with the first provisioning request
    from idp.provisioning.planner import ProvisioningConfig
    from idp.provisioning.ports import AppStatusStore, MappingStore, ProvisioningLog
    from idp.provisioning.reconcile import Reconciler


def _full_test_email(email: str | None) -> str:
    from idp.directory.models import is_email

    shown = (email or "").strip()
    if not is_email(shown):
        raise invalid("invalid_field", "field 'test_email': a full test needs the email of a test user, "
                                       "e.g. idp-test@yourcompany.com (it is created and removed in the SP)")
    return shown


class ProvisioningAdmin:
    """Provisioning of an app as an administrator runs it. Every method raises a `DomainError` naming what is
    wrong (404 no such app or user, 409 not configured or disabled, 400 a bad value); a failing SP is an answer
    (``ok: false`` with what failed), never an exception."""

    def __init__(self, reconciler: Reconciler, publisher: Publisher, logins: Logins, log_pages: LogPages,
                 reads: ReadScope, *, mappings: MappingStore, status: AppStatusStore, plog: ProvisioningLog) -> None:
        """`mappings`, `status`, `plog`: the provisioning state's ports this use case reads (idp.provisioning.ports)."""
        self.reconciler = reconciler
        self.mappings, self.app_status, self.plog = mappings, status, plog
        self.publisher = publisher
        self.logins = logins
        self.log_pages = log_pages
        self.reads = reads

    # ------------------------------------------------------------------ reads of the app
    def app(self, slug: str) -> dict[str, Any]:
        app = self.reconciler.engine.directory.get_app(slug)
        if not app:
            raise not_found("app", slug)
        return app

    def _configured(self, slug: str) -> ProvisioningConfig:
        from idp.provisioning.planner import ProvisioningConfig

        cfg = ProvisioningConfig.from_app(self.app(slug))
        if cfg is None:
            raise DomainError(409, "not_configured",
                              f"provisioning is not configured for app '{slug}': PUT /admin/apps/{slug}/provisioning first")
        return cfg

    def _enabled(self, slug: str) -> ProvisioningConfig:
        cfg = self._configured(slug)
        if not cfg.enabled:
            raise DomainError(409, "disabled", f"provisioning is disabled for app '{slug}'; enable it first")
        return cfg

    # ------------------------------------------------------------------ the use cases
    def test_connection(self, slug: str, *, full: bool = False, test_email: str | None = None) -> ConnectionTest:
        """Authenticate and list one user; `full`: also create, update, deactivate and delete a test user."""
        self._configured(slug)
        if not full:
            return ConnectionTest.of(self.reconciler.test_connection(slug))
        return ConnectionTest.of(self.reconciler.activation_test(slug, _full_test_email(test_email)))

    def sync(self, slug: str, *, confirm: bool = False, queued: bool = False) -> SyncSummary | SyncQueued:
        """Reconcile the app now (`confirm` passes the deprovisioning guard), or queue an ``app.sync`` event."""
        self._enabled(slug)
        if not queued:
            return SyncSummary.of(self.reconciler.sync_now(slug, confirm=confirm))
        if confirm:
            raise invalid("invalid_field", "field 'confirm' needs a synchronous sync (drop 'async')")
        if self.publisher.publish([event("app.sync", slug, app=slug)]):
            raise DomainError(503, "queue_unavailable", "the sync could not be queued; try again")
        return SyncQueued()

    def find_user(self, login: str) -> str | None:
        """The id of the user with this username or email, or None."""
        return self.logins.find_user_id("username", login) if login else None

    def user(self, uid: str) -> dict[str, Any] | None:
        """The directory user (the log page names whose log it shows)."""
        return self.logins.get_user(uid)

    def provision_user(self, slug: str, uid: str) -> ProvisionResult:
        """Provision one user now (the SP is read even when nothing seems to have changed)."""
        self._configured(slug)
        if self.reconciler.engine.directory.get_user(uid) is None and \
                self.mappings.get_map(slug, "USER", uid) is None:
            raise not_found("user", uid)
        self._enabled(slug)
        answer = self.reconciler.provision_user_now(slug, uid)
        entries = answer.get("log")
        if entries is None:  # a failed push answers no log: what it recorded is still worth showing
            entries = self.plog.read_log(slug, user_id=uid, limit=5)
        return ProvisionResult(
            ok=bool(answer.get("ok")), outcome=str(answer.get("outcome") or "unknown"), detail=answer.get("detail") or "",
            sp_status=answer.get("sp_status"), requests=answer.get("requests"), kind=answer.get("kind"),
            user_id=answer.get("id", uid), app=answer.get("app"), log=tuple(entries or ()))

    def status(self, slug: str) -> ProvisioningStatus:
        """Counts, state and the last error: the pushed state against what the directory wants now."""
        from idp.provisioning.planner import ProvisioningConfig
        from idp.provisioning.truth import of_app

        cfg = ProvisioningConfig.from_app(self.app(slug))
        st = self.app_status.app_status(slug)
        with self.reads():  # the users and groups read in batches (DirectoryStore.read_ahead)
            truth = of_app(self.reconciler.engine, slug) if cfg is not None else None
        shown = str(st.get("state", "ok"))
        if cfg is None:
            shown = "not_configured"
        elif not cfg.enabled:
            shown = "disabled"
        return ProvisioningStatus(
            app=slug, enabled=bool(cfg and cfg.enabled), state=shown, reason=st.get("reason"),
            users=_counts(truth.users.as_dict()) if truth else Counts(),
            groups=_counts(truth.groups.as_dict()) if truth else Counts(),
            drift=tuple(truth.drift) if truth else (), last_error=st.get("last_error"),
            last_error_at=st.get("last_error_at"), last_reconcile_at=st.get("last_reconcile_at"),
            last_reconcile=st.get("last_reconcile"), retry_in_seconds=round(self.app_status.breaker_open_for(st), 1) or None)

    def log_page(self, slug: str, *, user_id: str | None = None, group_id: str | None = None, limit: int = 50,
                 cursor: str | None = None) -> LogPage:
        """What was sent, the SP's answer and the outcome, newest first; of one user or group, or the whole app."""
        self.app(slug)
        if user_id and group_id:
            raise invalid("invalid_query", "give 'user_id' or 'group_id', not both")
        items, next_cursor = self.log_pages.log_page(slug, user_id=user_id or None, group_id=group_id or None,
                                                     limit=limit, cursor=cursor)
        return LogPage(tuple(items), next_cursor)


def _counts(tally: Mapping[str, int]) -> Counts:
    return Counts(int(tally["in_sync"]), int(tally["pending"]), int(tally["failed"]))
