"""An app's Identity Management tab (Base URL, Token Key write-only, the group-management checkbox,
dialect, matching attribute, deprovisioning; Test Connection, Activate, Save; the status; Sync now and
provisioning one user on demand) and its Provisioning log tab. Through AppService.put_provisioning and
the provisioning admin use case (idp.app.provisioning_admin), as the admin API's provisioning routes."""
from __future__ import annotations

from typing import TYPE_CHECKING

from idp.bootstrap import container
from idp.kernel.errors import DomainError
from idp.web.console.apps import app_context
from idp.web.console.fields import FormErrors, checked, key_values, page_size, text
from idp.web.console.guard import Admin, console_route, page, see_other
from idp.web.console.router import console_router, get_app

if TYPE_CHECKING:  # the use case's results load with the first request that needs them
    from idp.app.provisioning_results import ProvisionResult

FIELDS = ("base_url", "token", "group_management", "dialect", "matching_attribute", "deprovision", "test_email", "user",
          "attribute_mapping", "max_deprovision_share", "deprovision_guard_min", "max_concurrency")
CHOICES = {"dialect": ("standard", "entra", "put"), "matching_attribute": ("userName", "emails", "externalId"),
           "deprovision": ("deactivate", "delete")}
NOTICES = {"saved": "Settings saved.", "activated": "Provisioning is active: bound users and groups are being pushed.",
           "deactivated": "Provisioning is off: nothing is pushed until you activate it again.",
           "sync_queued": "A full sync is queued; the status below fills in as it runs."}


def _settings_body(form, *, enabled: bool) -> dict:
    body: dict = {"base_url": (form.get("base_url") or "").strip(), "enabled": enabled,
                  "group_management": checked(form, "group_management")}
    if form.get("token"):
        body["token"] = form["token"]  # write-only: used here, never shown again
    for name, allowed in CHOICES.items():
        if form.get(name) in allowed:
            body[name] = form[name]
    mapping = key_values(form, "attribute_mapping")
    if mapping:
        body["attribute_mapping"] = mapping
    share, minimum = text(form, "max_deprovision_share"), text(form, "deprovision_guard_min")
    if share is not None:
        body["max_deprovision_share"] = _number(share, "max_deprovision_share", float) / 100
    if minimum is not None:
        body["deprovision_guard_min"] = _number(minimum, "deprovision_guard_min", int)
    concurrency = text(form, "max_concurrency")
    if concurrency is not None:
        body["max_concurrency"] = _number(concurrency, "max_concurrency", int)
    return body


def _number(raw: str, name: str, kind: type):
    try:
        return kind(raw)
    except ValueError:
        raise DomainError(400, "invalid_field", f"field '{name}': '{raw[:20]}' is not a number") from None


def _shown(prov: dict) -> dict:
    """The stored settings as the form shows them (the mapping one per line, the share in percent)."""
    from idp.provisioning.planner import DEFAULT_DEPROVISION_MIN, DEFAULT_DEPROVISION_SHARE, DEFAULT_MAX_CONCURRENCY
    from idp.scim.mapping import DEFAULT_USER_MAPPING

    share = prov.get("max_deprovision_share")
    mapping = prov.get("attribute_mapping") or DEFAULT_USER_MAPPING
    return {**prov, "group_management": "on" if prov.get("group_management") else "",
            "attribute_mapping": "\n".join(f"{k} = {v}" for k, v in mapping.items()),
            "max_deprovision_share": f"{float(DEFAULT_DEPROVISION_SHARE if share is None else share) * 100:g}",
            "deprovision_guard_min": str(prov.get("deprovision_guard_min") or DEFAULT_DEPROVISION_MIN),
            "max_concurrency": str(prov.get("max_concurrency") or DEFAULT_MAX_CONCURRENCY)}


def im_page(admin: Admin, slug: str, *, status: int = 200, errors: FormErrors | None = None, values: dict | None = None,
            notice: str | None = None, result: dict | None = None, provisioned: dict | None = None):
    ctx = app_context(admin, slug)
    prov = ctx["app"].get("provisioning") or {}
    shown = dict(values) if values is not None else _shown(prov)
    shown.pop("token", None)  # never echoed, not even what was just typed
    return page(status, "console/app_im.html", admin, tab="im", values=shown, errors=errors, prov=prov,
                status=container().provisioning_admin.status(slug), notice=notice, result=result, provisioned=provisioned,
                choices=CHOICES, **ctx)


@console_router.get("/console/apps/<slug>/identity-management")
@console_route(console_router)
def identity_management(admin: Admin, slug: str):
    return im_page(admin, slug, notice=NOTICES.get(admin.request.query.get("done", "")))


@console_router.post("/console/apps/<slug>/identity-management")
@console_route(console_router)
def save_identity_management(admin: Admin, slug: str):
    """One form, three buttons: Save (settings as they are), Activate / Deactivate, Test Connection
    (saves, then tests the SCIM server; with a test user email, the full create/update/deactivate/delete)."""
    form, op = admin.form, admin.form.get("op") or "save"
    enabled_now = bool((get_app(slug).get("provisioning") or {}).get("enabled"))
    enabled = {"activate": True, "deactivate": False}.get(op, enabled_now)
    email = text(form, "test_email")
    try:
        body = _settings_body(form, enabled=enabled)
        if op == "test" and email and not _is_email(email):
            raise DomainError(400, "invalid_field", "field 'test_email': must be an email address like idp-test@example.com")
        admin.apps.put_provisioning(slug, body)
    except DomainError as exc:
        if exc.status == 404:
            raise
        errors = FormErrors.of(exc, FIELDS)
        return im_page(admin, slug, status=errors.status, errors=errors, values=dict(form))
    if op != "test":
        done = {"activate": "activated", "deactivate": "deactivated"}.get(op, "saved")
        return see_other(f"/console/apps/{slug}/identity-management?done={done}")
    result = container().provisioning_admin.test_connection(slug, full=bool(email), test_email=email)
    return im_page(admin, slug, result=result, values={**dict(form), "token": ""},
                   notice="Settings saved; the connection test ran.")


def _is_email(value: str) -> bool:
    from idp.directory.models import is_email

    return is_email(value)


@console_router.post("/console/apps/<slug>/provisioning/sync")
@console_route(console_router)
def sync_now(admin: Admin, slug: str):
    container().provisioning_admin.sync(slug, queued=True)
    return see_other(f"/console/apps/{slug}/identity-management?done=sync_queued")


@console_router.post("/console/apps/<slug>/provisioning/user")
@console_route(console_router)
def provision_user(admin: Admin, slug: str):
    login = (admin.form.get("user") or "").strip()
    uses = container().provisioning_admin
    uid = uses.find_user(login)
    if not uid:
        exc = DomainError(404, "not_found", f"field 'user': no user has the username or email '{login[:100]}'")
        return im_page(admin, slug, status=404, errors=FormErrors.of(exc, FIELDS))
    return im_page(admin, slug, provisioned=provisioned_view(login, uses.provision_user(slug, uid)))


def provisioned_view(login: str, result: ProvisionResult) -> dict:
    """What the "Provision this user now" panel shows of the use case's `ProvisionResult`: whether it worked, what
    was done (created, updated, no_change, failed, retry_later, auth_failed, skipped...), why, the SP's HTTP status
    when it answered with an error, and the user's last provisioning log entries."""
    title = "Provisioning failed" if not result.ok else ("Nothing pushed" if result.outcome == "skipped" else "Provisioned")
    return {"ok": result.ok, "outcome": result.outcome, "title": f"{login}: {title}", "detail": result.detail,
            "sp_status": result.sp_status, "requests": result.requests, "user_id": result.user_id,
            "log": list(result.log)}


@console_router.get("/console/apps/<slug>/log")
@console_route(console_router)
def provisioning_log(admin: Admin, slug: str):
    ctx = app_context(admin, slug)
    query = admin.request.query
    uid, login = query.get("user_id") or None, (query.get("user") or "").strip()
    uses, error = container().provisioning_admin, None
    if login and not uid:
        uid = uses.find_user(login)
        if not uid:
            error = f"no user has the username or email '{login[:100]}'"
    found = None if error else uses.log_page(slug, user_id=uid, limit=page_size(query, 50), cursor=query.get("cursor"))
    entries, cursor = (list(found.items), found.next_cursor) if found else ([], None)
    user = uses.user(uid) if uid else None
    base = f"/console/apps/{slug}/log" + (f"?user_id={uid}&" if uid else "?")
    return page(404 if error else 200, "console/app_log.html", admin, tab="log", log=entries, error=error,
                who=user, login=login or (user or {}).get("username", ""),
                next_url=f"{base}cursor={cursor}" if cursor else None,
                first_url=base.rstrip("?&") if query.get("cursor") else None, **ctx)
