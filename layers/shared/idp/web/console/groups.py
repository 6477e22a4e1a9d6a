"""Groups: the paginated list with Create group; a group's page (rename with Save, members with
Add member and Remove, the apps bound to it) and deleting a group after a confirmation. Every change
goes through the DirectoryService the admin API calls."""
from __future__ import annotations

from idp.bootstrap import container
from idp.kernel.errors import DomainError
from idp.web.console.fields import FormErrors, page_size, text, unconfirmed
from idp.web.console.guard import Admin, console_route, page, see_other
from idp.web.console.router import console_router

FIELDS = ("name", "description", "member", "confirm")
NOTICES = {"created": "Group created.", "saved": "Changes saved.", "deleted": "Group deleted.",
           "added": "Member added.", "removed": "Member removed."}


def directory():
    return container().directory


@console_router.get("/console/groups")
@console_route(console_router)
def list_groups(admin: Admin):
    query = admin.request.query
    groups, cursor = directory().store.list_groups(page_size(query), query.get("cursor"))
    return page(200, "console/groups.html", admin, groups=groups, values={}, errors=None,
                next_url=f"/console/groups?cursor={cursor}" if cursor else None,
                first_url="/console/groups" if query.get("cursor") else None, notice=NOTICES.get(query.get("done", "")))


@console_router.get("/console/groups/new")
@console_route(console_router)
def new_group(admin: Admin):
    return page(200, "console/group_new.html", admin, values={}, errors=None)


@console_router.post("/console/groups/new")
@console_route(console_router)
def create_group(admin: Admin):
    body = {"name": (admin.form.get("name") or "").strip()}
    if text(admin.form, "description"):
        body["description"] = text(admin.form, "description")
    try:
        group = admin.directory.create_group(body)
    except DomainError as exc:
        errors = FormErrors.of(exc, FIELDS)
        return page(errors.status, "console/group_new.html", admin, values=dict(admin.form), errors=errors)
    return see_other(f"/console/groups/{group['id']}?done=created")


def group_page(admin: Admin, gid: str, *, status: int = 200, errors: FormErrors | None = None,
               values: dict | None = None, notice: str | None = None):
    group = directory().get_group(gid)
    members, cursor = directory().list_members(gid, page_size(admin.request.query, 50), admin.request.query.get("cursor"))
    store = directory().store
    apps = [a for a in (store.get_app(slug) for slug in store.apps_of_group(gid)) if a]
    return page(status, "console/group.html", admin, g=group, values=values or group, errors=errors,
                members=sorted(members, key=lambda u: u["username"].lower()), apps=apps, notice=notice,
                next_url=f"/console/groups/{gid}?cursor={cursor}" if cursor else None,
                first_url=f"/console/groups/{gid}" if admin.request.query.get("cursor") else None)


@console_router.get("/console/groups/<gid>")
@console_route(console_router)
def show_group(admin: Admin, gid: str):
    return group_page(admin, gid, notice=NOTICES.get(admin.request.query.get("done", "")))


@console_router.post("/console/groups/<gid>")
@console_route(console_router)
def save_group(admin: Admin, gid: str):
    body = {"name": (admin.form.get("name") or "").strip(), "description": text(admin.form, "description")}
    try:
        admin.directory.update_group(gid, body)
    except DomainError as exc:
        if exc.status == 404:
            raise
        errors = FormErrors.of(exc, FIELDS)
        return group_page(admin, gid, status=errors.status, errors=errors, values=dict(admin.form))
    return see_other(f"/console/groups/{gid}?done=saved")


def _find_user(login: str) -> str:
    """A user id from a username or an email (one namespace), or a 404 naming the field."""
    uid = directory().store.find_user_id("username", login) if login else None
    if not uid:
        raise DomainError(404, "not_found", f"field 'member': no user has the username or email '{login[:100]}'"
                          if login else "field 'member': enter the username or email of the user to add")
    return uid


@console_router.post("/console/groups/<gid>/members")
@console_route(console_router)
def add_member(admin: Admin, gid: str):
    directory().get_group(gid)
    try:
        uid = _find_user((admin.form.get("member") or "").strip())
        admin.directory.add_member(gid, uid)
    except DomainError as exc:
        errors = FormErrors.of(exc, FIELDS)
        if not errors.by_field:
            raise
        return group_page(admin, gid, status=errors.status, errors=errors)
    return see_other(f"/console/groups/{gid}?done=added")


@console_router.post("/console/groups/<gid>/members/<uid>/remove")
@console_route(console_router)
def remove_member(admin: Admin, gid: str, uid: str):
    admin.directory.remove_member(gid, uid)
    return see_other(f"/console/groups/{gid}?done=removed")


def _confirm(admin: Admin, group: dict, status: int = 200, errors: FormErrors | None = None):
    store = directory().store
    apps, members = store.apps_of_group(group["id"]), store.list_members(group["id"])
    return page(status, "console/confirm.html", admin, title=f"Delete group {group['name']}",
                message=f"Deleting {group['name']} removes it and its {len(members)} membership(s). Its members lose the "
                        f"access it gave them to {len(apps)} application(s) (unless another binding keeps it), and apps "
                        "that manage groups delete the group there. This cannot be undone.",
                action=f"/console/groups/{group['id']}/delete", button="Delete group",
                confirm_label=f"Yes, delete {group['name']}", back=f"/console/groups/{group['id']}", errors=errors)


@console_router.get("/console/groups/<gid>/delete")
@console_route(console_router)
def confirm_delete_group(admin: Admin, gid: str):
    return _confirm(admin, directory().get_group(gid))


@console_router.post("/console/groups/<gid>/delete")
@console_route(console_router)
def delete_group(admin: Admin, gid: str):
    group = directory().get_group(gid)
    if errors := unconfirmed(admin.form, "deletion"):
        return _confirm(admin, group, 400, errors)
    admin.directory.delete_group(gid)
    return see_other("/console/groups?done=deleted")


