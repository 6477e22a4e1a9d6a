"""Users: the searchable, paginated list; Create user; a user's page (Save, Suspend, Activate,
Revoke sessions, set a password, the admin role, groups, the apps the user may open and through what,
the user's provisioning per app) and deleting a user after a confirmation. Each page parses, calls the users use
case the admin API calls (idp.app.user_admin) or the DirectoryService, and renders."""
from __future__ import annotations

from urllib.parse import urlencode

from idp.app.user_admin import UserAdmin
from idp.bootstrap import container
from idp.kernel.errors import DomainError
from idp.kernel.users import ADMIN_ROLE
from idp.web.console.fields import FormErrors, checked, page_size, text, unconfirmed
from idp.web.console.guard import Admin, console_route, page, see_other
from idp.web.console.router import console_router

PROFILE = ("username", "email", "firstname", "lastname", "displayname", "title", "department")
REQUIRED = ("username", "email", "firstname", "lastname")
FORM_FIELDS = PROFILE + ("password", "roles", "state", "confirm_reuse")
NOTICES = {"created": "User created.", "saved": "Changes saved.", "suspended": "User suspended; every session ended.",
           "activated": "User activated.", "revoked": "Every session of this user ended.", "deleted": "User deleted.",
           "group_added": "Added to the group.", "group_removed": "Removed from the group.",
           "mfa_reset": "Every second factor of this user was removed and every session ended.",
           "activation_sent": "Activation email sent: its link works once, for 7 days.",
           "reset_sent": "Password reset email sent: its link works once, for 30 minutes.",
           "mail_failed": "The link was made, but the email could not be sent (is a sender address configured?)."}


def users() -> UserAdmin:
    return container().user_admin


def password_rules() -> str:
    """The password policy in words, the Password field's hint (the service checks it again on Save)."""
    return users().password_rules()


@console_router.get("/console/users")
@console_route(console_router)
def list_users(admin: Admin):
    query, limit = admin.request.query, page_size(admin.request.query)
    needle = (query.get("q") or "").strip()
    if needle:
        try:
            offset = max(0, int(query.get("offset") or 0))
        except ValueError:
            offset = 0
        found = users().search(needle, offset, limit)
        shown, more = found.items, found.more
        next_url = "/console/users?" + urlencode({"q": needle, "offset": offset + limit}) if more else None
        first_url = "/console/users?" + urlencode({"q": needle}) if offset else None
    else:
        listed = users().list_users(limit, query.get("cursor"))
        shown, cursor = listed.items, listed.next_cursor
        next_url = f"/console/users?cursor={cursor}" if cursor else None
        first_url = "/console/users" if query.get("cursor") else None
    return page(200, "console/users.html", admin, users=shown, q=needle, next_url=next_url, first_url=first_url,
                notice=NOTICES.get(query.get("done", "")))


@console_router.get("/console/users/new")
@console_route(console_router)
def new_user(admin: Admin):
    return page(200, "console/user_new.html", admin, values={}, errors=None, offer_reuse=False,
                password_rules=password_rules())


@console_router.post("/console/users/new")
@console_route(console_router)
def create_user(admin: Admin):
    form = admin.form
    body = {name: value for name in PROFILE if (value := text(form, name)) is not None}
    if text(form, "password"):
        body["password"] = form["password"]
    if checked(form, "admin_role"):
        body["roles"] = [ADMIN_ROLE]
    if checked(form, "confirm_reuse"):
        body["confirm_reuse"] = True
    for name in REQUIRED:
        body.setdefault(name, "")  # the service names a missing one
    try:
        user = users().create(body, admin.acting)
    except DomainError as exc:
        return page(FormErrors.of(exc, FORM_FIELDS).status, "console/user_new.html", admin, values=dict(form),
                    errors=FormErrors.of(exc, FORM_FIELDS), offer_reuse=_offers_reuse(exc), password_rules=password_rules())
    return see_other(f"/console/users/{user['id']}?done=created")


def _offers_reuse(exc: DomainError) -> bool:
    """A quarantined username or email: the form offers the box that confirms its reuse."""
    return exc.code == "quarantined"


def user_page(admin: Admin, uid: str, *, status: int = 200, errors: FormErrors | None = None,
              values: dict | None = None, notice: str | None = None, diagnosis: dict | None = None,
              offer_reuse: bool = False):
    seen = users().overview(uid)
    return page(status, "console/user.html", admin, u=seen.user, values=values if values is not None else seen.user,
                errors=errors, groups=seen.groups, other_groups=seen.other_groups, access=seen.access,
                provisioning=seen.provisioning, is_admin=seen.is_admin, factors=seen.factors, diagnosis=diagnosis,
                all_apps=seen.all_apps, is_self=uid == admin.uid, notice=notice, offer_reuse=offer_reuse,
                password_rules=password_rules())


REASONS = {"not_bound": "not bound to the app, directly or through a group", "suspended": "the account is suspended",
           "locked_out": "locked out by failed sign-ins for now", "mfa_not_enrolled": "MFA is required and not enrolled",
           "no_acs_url": "the app has no ACS URL", "signed_requests_failing": "the app's signed AuthnRequests are failing"}


def _diagnosis(slug: str, uid: str) -> dict:
    """GET /admin/apps/{slug}/users/{user_id}/diagnosis's answer (the one reading of it), with the reasons in words."""
    found = users().diagnose(slug, uid).as_json()
    return {**found, "slug": slug, "words": [REASONS.get(r, r) for r in found["reasons"]]}


@console_router.get("/console/users/<uid>")
@console_route(console_router)
def show_user(admin: Admin, uid: str):
    slug = (admin.request.query.get("diagnose") or "").strip()
    return user_page(admin, uid, notice=NOTICES.get(admin.request.query.get("done", "")),
                     diagnosis=_diagnosis(slug, uid) if slug else None)


@console_router.post("/console/users/<uid>")
@console_route(console_router)
def save_user(admin: Admin, uid: str):
    form = admin.form
    body: dict = {name: (form.get(name) or "").strip() or (None if name not in REQUIRED else "") for name in PROFILE}
    if text(form, "password"):
        body["password"] = form["password"]
    wants_admin = checked(form, "admin_role")
    if uid == admin.uid and not wants_admin:
        exc = DomainError(400, "invalid_field", "field 'roles': you cannot remove your own admin role "
                                                "(another administrator can)")
        return user_page(admin, uid, status=400, errors=FormErrors.of(exc, FORM_FIELDS), values=dict(form))
    roles = set(users().get(uid).get("roles") or [])
    body["roles"] = sorted(roles | {ADMIN_ROLE} if wants_admin else roles - {ADMIN_ROLE})
    if checked(form, "confirm_reuse"):
        body["confirm_reuse"] = True
    try:
        admin.directory.update_user(uid, body)
    except DomainError as exc:
        if exc.status == 404:
            raise
        return user_page(admin, uid, status=FormErrors.of(exc, FORM_FIELDS).status,
                         errors=FormErrors.of(exc, FORM_FIELDS), values=dict(form), offer_reuse=_offers_reuse(exc))
    return see_other(f"/console/users/{uid}?done=saved")


def _set_state(admin: Admin, uid: str, state: str, done: str):
    users().set_state(uid, state, admin.acting)
    return see_other(f"/console/users/{uid}?done={done}")


@console_router.post("/console/users/<uid>/suspend")
@console_route(console_router)
def suspend_user(admin: Admin, uid: str):
    return _set_state(admin, uid, "SUSPENDED", "suspended")


@console_router.post("/console/users/<uid>/activate")
@console_route(console_router)
def activate_user(admin: Admin, uid: str):
    return _set_state(admin, uid, "ACTIVE", "activated")


@console_router.post("/console/users/<uid>/revoke-sessions")
@console_route(console_router)
def revoke_sessions(admin: Admin, uid: str):
    admin.directory.revoke_sessions(uid)
    return see_other(f"/console/users/{uid}?done=revoked")


def _send_link(admin: Admin, uid: str, activation: bool):
    """The user is emailed a link to set their password (idp.directory.lifecycle), recorded as this administrator's."""
    sent = users().send_link(uid, admin.request.base_url, admin.acting, activation=activation)
    done = ("activation_sent" if activation else "reset_sent") if sent.email_sent else "mail_failed"
    return see_other(f"/console/users/{uid}?done={done}")


@console_router.post("/console/users/<uid>/send-activation")
@console_route(console_router)
def send_activation(admin: Admin, uid: str):
    return _send_link(admin, uid, activation=True)


@console_router.post("/console/users/<uid>/send-reset")
@console_route(console_router)
def send_reset(admin: Admin, uid: str):
    return _send_link(admin, uid, activation=False)


@console_router.post("/console/users/<uid>/groups")
@console_route(console_router)
def add_to_group(admin: Admin, uid: str):
    gid = text(admin.form, "group_id")
    if not gid:
        raise DomainError(400, "missing_field", "choose a group to add the user to")
    admin.directory.add_member(gid, uid)
    return see_other(f"/console/users/{uid}?done=group_added")


@console_router.post("/console/users/<uid>/groups/<gid>/remove")
@console_route(console_router)
def remove_from_group(admin: Admin, uid: str, gid: str):
    admin.directory.remove_member(gid, uid)
    return see_other(f"/console/users/{uid}?done=group_removed")


def _confirm_delete(admin: Admin, user: dict, status: int = 200, errors: FormErrors | None = None):
    return page(status, "console/confirm.html", admin, title=f"Delete user {user['username']}",
                message=f"Deleting {user['username']} removes the account, its group memberships and its access. "
                        "Apps with provisioning deactivate (or delete) the user there. This cannot be undone.",
                action=f"/console/users/{user['id']}/delete", button="Delete user",
                confirm_label=f"Yes, delete {user['username']}", back=f"/console/users/{user['id']}", errors=errors)


@console_router.get("/console/users/<uid>/delete")
@console_route(console_router)
def confirm_delete_user(admin: Admin, uid: str):
    return _confirm_delete(admin, users().get(uid))


@console_router.post("/console/users/<uid>/delete")
@console_route(console_router)
def delete_user(admin: Admin, uid: str):
    user = users().get(uid)
    if errors := unconfirmed(admin.form, "deletion"):
        return _confirm_delete(admin, user, 400, errors)
    users().delete(uid, admin.acting)
    return see_other("/console/users?done=deleted")


def _confirm_mfa_reset(admin: Admin, user: dict, status: int = 200, errors: FormErrors | None = None):
    return page(status, "console/confirm.html", admin, title=f"Reset {user['username']}'s MFA",
                message=f"Every second factor of {user['username']} (authenticator apps, passkeys, recovery codes) is "
                        "removed and every session ends. Where MFA is required, the user enrols again at the next sign-in.",
                action=f"/console/users/{user['id']}/mfa-reset", button="Reset MFA",
                confirm_label=f"Yes, reset {user['username']}'s MFA", back=f"/console/users/{user['id']}", errors=errors)


@console_router.get("/console/users/<uid>/mfa-reset")
@console_route(console_router)
def confirm_mfa_reset(admin: Admin, uid: str):
    return _confirm_mfa_reset(admin, users().get(uid))


@console_router.post("/console/users/<uid>/mfa-reset")
@console_route(console_router)
def mfa_reset(admin: Admin, uid: str):
    """As DELETE /admin/users/{id}/mfa: the factors go, then the directory ends every session."""
    user = users().get(uid)
    if errors := unconfirmed(admin.form, "reset"):
        return _confirm_mfa_reset(admin, user, 400, errors)
    container().mfa_admin.reset(uid, admin.acting)
    return see_other(f"/console/users/{uid}?done=mfa_reset")
