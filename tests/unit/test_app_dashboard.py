"""The dashboard use case (idp.app.dashboard) over fakes of its ports: each row's SSO health from the signing keys,
the provisioning status from the provisioning admin use case, the sign-in failures of the last 24 hours named by
username; an unreadable part is shown as unavailable and never fails the page."""
from __future__ import annotations

from typing import Any

from idp.app.dashboard import FAILURE_WINDOW_SECONDS, AppHealth, Dashboard
from idp.app.provisioning_results import Counts, ProvisioningStatus
from idp.kernel.audit_log import AuditQuery
from idp.provisioning.ports import QueueDepths

NOW = 1_800_000_000.0
APPS = [{"slug": "office", "label": "OfficeSpace", "signing_keys": [{"status": "active"}, {"status": "next"}]},
        {"slug": "wiki", "signing_keys": [{"status": "retired"}]}]


class Directory:
    def list_apps(self, limit: int | None = None, cursor: str | None = None) -> tuple[list[dict], str | None]:
        return APPS[:limit], "next-page" if limit and limit < len(APPS) else None

    def get_user(self, uid: str) -> dict | None:
        return {"u1": {"username": "ann"}}.get(uid)


class Provisioning:
    def status(self, slug: str) -> ProvisioningStatus:
        if slug == "wiki":
            raise RuntimeError("the status item is unreadable")
        return ProvisioningStatus(slug, True, "ok", users=Counts(3, 1, 0), groups=Counts(1, 0, 1))


class Audit:
    def __init__(self, broken: bool = False) -> None:
        self.broken = broken
        self.asked: list[AuditQuery] = []

    def query(self, query: AuditQuery, limit: int = 50, cursor: str | None = None) -> tuple[list[dict[str, Any]], str | None]:
        if self.broken:
            raise ConnectionError("the audit log is unreachable")
        self.asked.append(query)
        if query.type == "sso" and query.outcome is None:
            return ([{"type": "sso", "outcome": "success", "at": "2027-01-15T08:00:00Z"}] if query.app == "office" else []), None
        if query.type == "login":
            return [{"type": "login", "user_id": "u1", "at": "2027-01-15T08:00:02Z"},
                    {"type": "login", "user_id": "u9", "at": "2027-01-15T07:00:00Z"}], None
        return [{"type": "sso", "app": "office", "at": "2027-01-15T08:00:05Z", "reason": "not_bound"}], None


class Queues:
    def depths(self) -> QueueDepths:
        return QueueDepths(4, 1, 0)


def _dashboard(audit: Audit) -> Dashboard:
    return Dashboard(Directory(), Provisioning(), audit, Queues(), clock=lambda: NOW)


def test_each_app_row_and_the_failures_of_the_last_day():
    audit = Audit()
    seen = _dashboard(audit).overview(limit=25)
    office, wiki = seen.apps
    assert isinstance(office, AppHealth) and (office.sso, office.next_key, office.label) == ("ok", True, "OfficeSpace")
    assert (office.provisioning.in_sync, office.provisioning.pending, office.provisioning.failed) == (4, 1, 1)
    assert office.last_sso and office.last_sso["outcome"] == "success"
    assert (wiki.sso, wiki.label, wiki.last_sso) == ("failed", "wiki", None)
    assert wiki.provisioning == ProvisioningStatus.unavailable("wiki")  # one app's unreadable state: its row says so
    assert seen.queues == QueueDepths(4, 1, 0) and seen.next_cursor is None
    assert [(f["type"], f.get("username")) for f in seen.failures or ()] == [("sso", None), ("login", "ann"), ("login", "u9")]
    since = {q.since for q in audit.asked if q.outcome == "failure"}
    assert since == {int(NOW * 1000) - FAILURE_WINDOW_SECONDS * 1000}


def test_an_unreadable_audit_log_leaves_the_rest_of_the_page():
    seen = _dashboard(Audit(broken=True)).overview(limit=1)
    assert seen.failures is None and seen.apps[0].last_sso is None and seen.next_cursor == "next-page"
    assert seen.apps[0].provisioning.state == "ok"
