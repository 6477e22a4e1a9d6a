"""An app's User Groups and Users tabs: a checkbox per group (labelled by its name) or user (by its
username), checked when bound, and Save binds and unbinds what changed on that page. With search and
pages; through DirectoryService.bind_group / bind_user, as PUT|DELETE /admin/apps/{slug}/groups|users."""
from __future__ import annotations

from urllib.parse import urlencode

from idp.bootstrap import container
from idp.web.console.apps import app_context
from idp.web.console.fields import Selection, page_size
from idp.web.console.guard import Admin, console_route, page, see_other
from idp.web.console.router import console_router, get_app
from idp.web.console.users import search as search_users

SCAN_LIMIT = 2000  # groups read at most by one search


def _search_groups(needle: str, offset: int, limit: int) -> tuple[list[dict], bool]:
    store, needle = container().store, needle.lower()
    found, cursor, scanned = [], None, 0
    while scanned < SCAN_LIMIT:
        batch, cursor = store.list_groups(200, cursor)
        scanned += len(batch)
        found += [g for g in batch if needle in g["name"].lower()]
        if not cursor or len(found) > offset + limit:
            break
    return found[offset:offset + limit], len(found) > offset + limit


def _listing(admin: Admin, slug: str, kind: str) -> tuple[list[dict], str | None, str | None, str]:
    """One page of groups or users (searched or not), the next and first page links, and the search text."""
    query, limit = admin.request.query, page_size(admin.request.query, 50)
    needle = (query.get("q") or "").strip()
    base = f"/console/apps/{slug}/{kind}"
    if needle:
        try:
            offset = max(0, int(query.get("offset") or 0))
        except ValueError:
            offset = 0
        items, more = (_search_groups if kind == "groups" else search_users)(needle, offset, limit)
        return (items, f"{base}?" + urlencode({"q": needle, "offset": offset + limit}) if more else None,
                f"{base}?" + urlencode({"q": needle}) if offset else None, needle)
    store = container().store
    items, cursor = (store.list_groups if kind == "groups" else store.list_users)(limit, query.get("cursor"))
    return items, f"{base}?cursor={cursor}" if cursor else None, base if query.get("cursor") else None, ""


def _bound(slug: str, kind: str) -> set[str]:
    store = container().store
    return set(store.app_group_bindings(slug) if kind == "groups" else store.app_user_bindings(slug))


def _tab(admin: Admin, slug: str, kind: str):
    ctx = app_context(admin, slug)
    items, next_url, first_url, needle = _listing(admin, slug, kind)
    bound = _bound(slug, kind)
    rows = [{"id": i["id"], "label": i["name"] if kind == "groups" else i["username"],
             "extra": i.get("description") if kind == "groups" else i.get("email"), "bound": i["id"] in bound}
            for i in items]
    done = admin.request.query.get("done")
    return page(200, "console/app_bindings.html", admin, tab=kind, kind=kind, rows=rows, q=needle, next_url=next_url,
                first_url=first_url, bound_count=len(bound), back=admin.request.path + (
                    "?" + admin.request.raw_query if admin.request.raw_query else ""),
                notice="Access saved." if done == "saved" else None, **ctx)


def _save(admin: Admin, slug: str, kind: str):
    get_app(slug)
    selection = Selection.of(admin.form, "bind_")
    bind, unbind = selection.changes(_bound(slug, kind))
    directory = admin.directory
    method = directory.bind_group if kind == "groups" else directory.bind_user
    for ident in bind:
        method(slug, ident, bind=True)
    for ident in unbind:
        method(slug, ident, bind=False)
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
