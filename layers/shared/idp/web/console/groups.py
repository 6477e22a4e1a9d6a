"""Groups: the paginated list with Create group; a group's page (rename with Save, members with
Add member and Remove, the apps bound to it) and deleting a group after a confirmation. Reads and adding a member
by login go through the groups use case (idp.app.group_admin), the other changes through the DirectoryService the
admin API calls."""
from __future__ import annotations

from idp.app.group_admin import GroupAdmin
from idp.bootstrap import container
from idp.kernel.errors import DomainError
from idp.web.console.fields import FormErrors, page_size, text, unconfirmed
from idp.web.console.guard import Admin, console_route, page, see_other
from idp.web.console.router import console_router

FIELDS = ("name", "description", "member", "confirm")
NOTICES = {"created": "Group created.", "saved": "Changes saved.", "deleted": "Group deleted.",
           "added": "Member added.", "removed": "Member removed."}


def groups() -> GroupAdmin:
    return container().group_admin


@console_router.get("/console/groups")
@console_route(console_router)
def list_groups(admin: Admin):
    query = admin.request.query
    listed = groups().list_groups(page_size(query), query.get("cursor"))
    cursor = listed.next_cursor
    return page(200, "console/groups.html", admin, groups=listed.items, values={}, errors=None,
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
    seen = groups().overview(gid, limit=page_size(admin.request.query, 50), cursor=admin.request.query.get("cursor"))
    cursor = seen.next_cursor
    return page(status, "console/group.html", admin, g=seen.group, values=values or seen.group, errors=errors,
                members=seen.members, apps=seen.apps, notice=notice,
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


@console_router.post("/console/groups/<gid>/members")
@console_route(console_router)
def add_member(admin: Admin, gid: str):
    groups().get(gid)
    try:
        groups().add_member_by_login(gid, (admin.form.get("member") or "").strip(), admin.acting)
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


def _confirm(admin: Admin, gid: str, status: int = 200, errors: FormErrors | None = None):
    reach = groups().reach(gid)
    group = reach.group
    return page(status, "console/confirm.html", admin, title=f"Delete group {group['name']}",
                message=f"Deleting {group['name']} removes it and its {reach.members} membership(s). Its members lose the "
                        f"access it gave them to {reach.apps} application(s) (unless another binding keeps it), and apps "
                        "that manage groups delete the group there. This cannot be undone.",
                action=f"/console/groups/{group['id']}/delete", button="Delete group",
                confirm_label=f"Yes, delete {group['name']}", back=f"/console/groups/{group['id']}", errors=errors)


@console_router.get("/console/groups/<gid>/delete")
@console_route(console_router)
def confirm_delete_group(admin: Admin, gid: str):
    return _confirm(admin, gid)


@console_router.post("/console/groups/<gid>/delete")
@console_route(console_router)
def delete_group(admin: Admin, gid: str):
    groups().get(gid)
    if errors := unconfirmed(admin.form, "deletion"):
        return _confirm(admin, gid, 400, errors)
    admin.directory.delete_group(gid)
    return see_other("/console/groups?done=deleted")


