"""GET /console: every app with its SSO and provisioning health (state, counts, circuit breaker, last
error), the change-event queue's backlog and dead letters, and the recent sign-in failures (audit log)."""
from __future__ import annotations

from aws_lambda_powertools import Logger

from idp.bootstrap import container
from idp.web.console.fields import page_size
from idp.web.console.guard import Admin, console_route, page
from idp.web.console.router import console_router

log = Logger(child=True)


def provisioning_status(slug: str) -> dict:
    """GET /admin/apps/{slug}/provisioning/status's answer (the one reading of it)."""
    from idp.web.provisioning_routes import status

    return status(slug)


def app_health(app: dict) -> dict:
    """One app's row: its SSO state (an active signing key) and its provisioning status."""
    keys = app.get("signing_keys") or []
    sso = "ok" if any(k.get("status") == "active" for k in keys) else "failed"
    try:
        prov = provisioning_status(app["slug"])
    except Exception:  # one app's unreadable state must not take the dashboard down
        log.exception("dashboard: provisioning status unreadable", extra={"app": app["slug"]})
        prov = {"state": "error", "in_sync": 0, "pending": 0, "failed": 0, "last_error": "status unavailable"}
    return {"slug": app["slug"], "label": app.get("label") or app["slug"], "sso": sso,
            "next_key": any(k.get("status") == "next" for k in keys), "provisioning": prov, "last_sso": last_sso(app["slug"])}


def last_sso(slug: str) -> dict | None:
    """The app's newest SSO answer or refusal (audit log), or None."""
    from idp.kernel.audit_log import AuditQuery

    try:
        items, _ = container().audit.query(AuditQuery(type="sso", app=slug), limit=1)
    except Exception:  # noqa: BLE001 - a convenience: the dashboard still renders
        log.warning("dashboard: audit log unreadable", extra={"app": slug})
        return None
    return items[0] if items else None


def queue_depths() -> dict:
    """Messages waiting in the change-event queue and in its dead-letter queue (None when unreadable)."""
    settings = container().settings
    depths: dict[str, int | None] = {"backlog": None, "in_flight": None, "dead_letters": None}
    try:
        sqs = container().sqs
        if settings.events_queue_url:
            attrs = sqs.get_queue_attributes(QueueUrl=settings.events_queue_url, AttributeNames=[
                "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
            depths["backlog"] = int(attrs.get("ApproximateNumberOfMessages", 0))
            depths["in_flight"] = int(attrs.get("ApproximateNumberOfMessagesNotVisible", 0))
        if settings.dlq_url:
            attrs = sqs.get_queue_attributes(QueueUrl=settings.dlq_url,
                                             AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]
            depths["dead_letters"] = int(attrs.get("ApproximateNumberOfMessages", 0))
    except Exception:  # noqa: BLE001 - the numbers are a convenience; the page still renders
        log.warning("dashboard: queue attributes unreadable")
    return depths


def recent_sign_in_failures(limit: int = 10) -> list[dict] | None:
    """The newest failed logins and refused SSO answers of the last 24 hours (None when the audit log is unreadable)."""
    import time

    from idp.kernel.audit_log import AuditQuery

    since = int(time.time() * 1000) - 24 * 3600 * 1000
    try:
        found = []
        for kind in ("login", "sso"):
            items, _ = container().audit.query(AuditQuery(type=kind, outcome="failure", since=since), limit=limit)
            found += items
    except Exception:  # noqa: BLE001 - a convenience: the dashboard still renders
        log.warning("dashboard: audit log unreadable")
        return None
    store = container().store
    names: dict[str, str] = {}
    for item in found:
        uid = item.get("user_id")
        if uid and uid not in names:
            names[uid] = (store.get_user(uid) or {}).get("username", uid)
        item["username"] = names.get(uid) if uid else None
    return sorted(found, key=lambda e: e.get("at") or "", reverse=True)[:limit]


@console_router.get("/console")
@console_route(console_router)
def dashboard(admin: Admin):
    cursor = admin.request.query.get("cursor")
    apps, next_cursor = container().store.list_apps(page_size(admin.request.query, 25), cursor)
    rows = [app_health(app) for app in apps]
    return page(200, "console/dashboard.html", admin, apps=rows, queues=queue_depths(), failures=recent_sign_in_failures(),
                next_url=f"/console?cursor={next_cursor}" if next_cursor else None,
                first_url="/console" if cursor else None)
