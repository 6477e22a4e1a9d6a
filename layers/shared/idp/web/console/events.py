"""Events: the audit log, newest first, filtered as GET /admin/events filters it (type, user, app,
outcome), paginated with its cursor; a user can be named by login or email."""
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
    from idp.kernel.audit_log import AuditQuery

    query = admin.request.query
    shown = {name: (query.get(name) or "").strip() for name in FILTERS}
    error = None
    uid = None
    if shown["user"]:
        uid = container().store.find_user_id("username", shown["user"])
        if not uid:
            error = f"no user has the username or email '{shown['user'][:100]}'"
    items, cursor = [], None
    if error is None:
        try:
            params = {"type": shown["type"], "app": shown["app"], "outcome": shown["outcome"], "user_id": uid or ""}
            items, cursor = container().audit.query(AuditQuery.from_params(params), limit=page_size(query, 50),
                                                    cursor=query.get("cursor") or None)
        except DomainError as exc:
            error = exc.message
    names: dict[str, str] = {}
    for ident in {i for item in items for i in (item.get("user_id"), (item.get("actor") or {}).get("id")) if i}:
        names[ident] = (container().store.get_user(ident) or {}).get("username", ident)
    base = {k: v for k, v in shown.items() if v}
    return page(400 if error else 200, "console/events.html", admin, events=items, names=names, values=shown,
                error=error, types=TYPES,
                next_url="/console/events?" + urlencode({**base, "cursor": cursor}) if cursor else None,
                first_url="/console/events" + ("?" + urlencode(base) if base else "") if query.get("cursor") else None)
