"""Events: the audit log, newest first, filtered as GET /admin/events filters it (type, user, app,
outcome), paginated with its cursor; a user can be named by login or email. The audit events use case
(idp.app.audit_events) answers both."""
from __future__ import annotations

from urllib.parse import urlencode

from idp.bootstrap import container
from idp.kernel.errors import DomainError
from idp.web.console.fields import page_size
from idp.web.console.guard import Admin, console_route, page
from idp.web.console.router import console_router

FILTERS = ("type", "user", "app", "outcome")
TYPES = ("", "login", "mfa", "sso", "logout", "lockout", "admin.*", "provisioning")


@console_router.get("/console/events")
@console_route(console_router)
def events(admin: Admin):
    query = admin.request.query
    shown = {name: (query.get(name) or "").strip() for name in FILTERS}
    error, items, names, cursor = None, (), {}, None
    try:
        found = container().audit_events.search(**shown, limit=page_size(query, 50), cursor=query.get("cursor") or None)
        items, names, cursor = found.items, found.names, found.next_cursor
    except DomainError as exc:
        error = exc.message
    base = {k: v for k, v in shown.items() if v}
    return page(400 if error else 200, "console/events.html", admin, events=items, names=names, values=shown,
                error=error, types=TYPES,
                next_url="/console/events?" + urlencode({**base, "cursor": cursor}) if cursor else None,
                first_url="/console/events" + ("?" + urlencode(base) if base else "") if query.get("cursor") else None)
