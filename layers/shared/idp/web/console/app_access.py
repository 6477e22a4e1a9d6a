"""An app's User Groups and Users tabs: a checkbox per group (labelled by its name) or user (by its
username), checked when bound, and Save binds and unbinds what changed on that page. With search and
pages; through the apps use case (idp.app.app_admin), which binds as PUT|DELETE /admin/apps/{slug}/groups|users."""
from __future__ import annotations

from urllib.parse import urlencode

from idp.app.app_admin import AppAdmin
from idp.bootstrap import container
from idp.web.console.apps import app_context
from idp.web.console.fields import Selection, page_size
from idp.web.console.guard import Admin, console_route, page, see_other
from idp.web.console.router import console_router


def apps() -> AppAdmin:
    return container().app_admin


def _listing(admin: Admin, slug: str, kind: str):
    """One page of groups or users (searched or not) with those bound, the next and first page links, the search text."""
    query, limit = admin.request.query, page_size(admin.request.query, 50)
    needle = (query.get("q") or "").strip()
    base = f"/console/apps/{slug}/{kind}"
    if needle:
        try:
            offset = max(0, int(query.get("offset") or 0))
        except ValueError:
            offset = 0
        shown = apps().bindings(slug, kind, needle=needle, offset=offset, limit=limit)
        return (shown, f"{base}?" + urlencode({"q": needle, "offset": offset + limit}) if shown.more else None,
                f"{base}?" + urlencode({"q": needle}) if offset else None, needle)
    shown = apps().bindings(slug, kind, limit=limit, cursor=query.get("cursor"))
    cursor = shown.next_cursor
    return shown, f"{base}?cursor={cursor}" if cursor else None, base if query.get("cursor") else None, ""


def _tab(admin: Admin, slug: str, kind: str):
    ctx = app_context(admin, slug)
    shown, next_url, first_url, needle = _listing(admin, slug, kind)
    bound = shown.bound
    rows = [{"id": i["id"], "label": i["name"] if kind == "groups" else i["username"],
             "extra": i.get("description") if kind == "groups" else i.get("email"), "bound": i["id"] in bound}
            for i in shown.items]
    done = admin.request.query.get("done")
    return page(200, "console/app_bindings.html", admin, tab=kind, kind=kind, rows=rows, q=needle, next_url=next_url,
                first_url=first_url, bound_count=len(bound), back=admin.request.path + (
                    "?" + admin.request.raw_query if admin.request.raw_query else ""),
                notice="Access saved." if done == "saved" else None, **ctx)


def _save(admin: Admin, slug: str, kind: str):
    uses = apps()
    bind, unbind = Selection.of(admin.form, "bind_").changes(uses.bound(slug, kind))
    uses.save_bindings(slug, kind, bind, unbind, admin.acting)
    back = admin.form.get("back") or ""
    if not back.startswith(f"/console/apps/{slug}/{kind}") or "//" in back:
        back = f"/console/apps/{slug}/{kind}"
    return see_other(back + ("&" if "?" in back else "?") + "done=saved")


@console_router.get("/console/apps/<slug>/groups")
@console_route(console_router)
def group_access(admin: Admin, slug: str):
    return _tab(admin, slug, "groups")


@console_router.post("/console/apps/<slug>/groups")
@console_route(console_router)
def save_group_access(admin: Admin, slug: str):
    return _save(admin, slug, "groups")


@console_router.get("/console/apps/<slug>/users")
@console_route(console_router)
def user_access(admin: Admin, slug: str):
    return _tab(admin, slug, "users")


@console_router.post("/console/apps/<slug>/users")
@console_route(console_router)
def save_user_access(admin: Admin, slug: str):
    return _save(admin, slug, "users")
