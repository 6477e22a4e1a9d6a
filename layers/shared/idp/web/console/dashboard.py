"""GET /console: every app with its SSO and provisioning health (state, counts, circuit breaker, last
error), the change-event queue's backlog and dead letters, and the recent sign-in failures (audit log);
the dashboard use case (idp.app.dashboard) reads them."""
from __future__ import annotations

from idp.bootstrap import container
from idp.web.console.fields import page_size
from idp.web.console.guard import Admin, console_route, page
from idp.web.console.router import console_router


@console_router.get("/console")
@console_route(console_router)
def dashboard(admin: Admin):
    cursor = admin.request.query.get("cursor")
    seen = container().dashboard.overview(limit=page_size(admin.request.query, 25), cursor=cursor)
    return page(200, "console/dashboard.html", admin, apps=seen.apps, queues=seen.queues, failures=seen.failures,
                next_url=f"/console?cursor={seen.next_cursor}" if seen.next_cursor else None,
                first_url="/console" if cursor else None)
