"""Identity sources in the console (contract section 10): the list (name, match rule, on delete, last used), a form
to add one (its token and SCIM base URL are shown once, on the page that answers the form, never in a URL), and a
Delete button per source (its token stops working; its users stay). Through the same SourceService as the API."""
from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response

from idp.bootstrap import container
from idp.directory.sources import SourceService
from idp.kernel.errors import DomainError
from idp.web.console.fields import FormErrors
from idp.web.console.guard import Admin, console_route, page, see_other
from idp.web.console.router import console_router

FIELDS = ("name", "match", "on_delete")
MATCH = (("none", "Never: every user is new"), ("email", "By email"), ("username", "By username"))
ON_DELETE = (("suspend", "Suspend the user"), ("delete", "Delete the user"))


def _sources(admin: Admin) -> SourceService:
    return container().sources.acting_as(admin.directory)


def _page(admin: Admin, status: int = 200, errors: FormErrors | None = None, values: dict[str, Any] | None = None,
          created: dict[str, Any] | None = None, notice: str | None = None) -> Response:
    items, _ = _sources(admin).list(200, None)
    return page(status, "console/sources.html", admin, sources=items, values=values or {"match": "none", "on_delete": "suspend"},
                errors=errors, created=created, match_options=MATCH, on_delete_options=ON_DELETE, notice=notice)


@console_router.get("/console/sources")
@console_route(console_router)
def sources(admin: Admin):
    return _page(admin, notice="Source deleted." if admin.request.query.get("done") == "deleted" else None)


@console_router.post("/console/sources")
@console_route(console_router)
def create_source(admin: Admin):
    form = admin.form
    body = {k: (form.get(k) or "").strip() for k in FIELDS}
    try:
        created = _sources(admin).create(body, admin.request.base_url)
    except DomainError as exc:
        errors = FormErrors.of(exc, FIELDS)
        return _page(admin, errors.status, errors, values=body)
    # 201 with the token on this page only (a redirect would need it in a URL or stored in clear)
    answer = _page(admin, 201, created=created)
    answer.headers["Cache-Control"] = "no-store"
    return answer


@console_router.post("/console/sources/<source_id>/delete")
@console_route(console_router)
def delete_source(admin: Admin, source_id: str):
    _sources(admin).delete(source_id)
    return see_other("/console/sources?done=deleted")
