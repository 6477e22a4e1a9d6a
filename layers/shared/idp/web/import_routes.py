"""Import of the users an SP already holds (contract section 8):

- POST /admin/apps/<slug>/provisioning/import (no body, or {}) → reads every SP user (SCIM GET /Users,
  paged, at most 10,000; nothing is written to the SP), classifies them (idp.provisioning.import_report), stores the
  report for 7 days and answers ``{"id", "items", "to_create", "truncated"}``;
- POST /admin/apps/<slug>/provisioning/import/<id>/confirm ``{"links": [{"sp_id", "user_id"}], "create_users":
  [sp_id]}`` → once per report (409 the second time): writes the id mappings the push uses (so the next push
  updates the linked SP users instead of creating duplicates), creates unbound directory users from SP-only
  ones, and opens the app's import gate (``require_import_confirmation``)."""
from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler.api_gateway import Router
from pydantic import BaseModel, ConfigDict, Field

from idp.bootstrap import container
from idp.kernel.audit import API_ADMIN
from idp.kernel.errors import DomainError, not_found
from idp.kernel.events import event
from idp.web import api_models as api
from idp.web.api_models import ok, options
from idp.web.auth import admin_middleware
from idp.web.http import body_text, json_body
from idp.web.request import current_request

if TYPE_CHECKING:  # the import's helpers (the planner, the SCIM mapping and client errors) load with its first request
    from idp.provisioning.planner import ProvisioningConfig

log = Logger(child=True)
router = Router()
router.typed = True
router.use([admin_middleware])

NoBody = options("ImportOptions", {}, "optional; no fields")
ConfirmBody = options("ImportConfirmation", {
    "links": {"type": "array", "items": {"type": "object", "additionalProperties": False, "required": ["sp_id", "user_id"],
                                         "properties": {"sp_id": {"type": "string"}, "user_id": {"type": "string"}}}},
    "create_users": {"type": "array", "items": {"type": "string"}}},
    "the SP users to link to directory users, and the SP-only users to create in the directory (unbound)")


class ImportItem(BaseModel):
    model_config = ConfigDict(defer_build=True, extra="allow")
    sp_id: str
    userName: str
    status: str = Field(description="matched, conflict or unmatched")
    user_id: str | None = None
    reason: str | None = None


class ImportReportView(BaseModel):
    model_config = ConfigDict(defer_build=True)
    id: str
    items: list[ImportItem]
    to_create: list[str] = Field(description="ids of users bound to the app that the SP does not hold")
    truncated: bool = False


class ImportConfirmed(BaseModel):
    model_config = ConfigDict(defer_build=True)
    id: str
    linked: list[dict[str, Any]]
    created: list[dict[str, Any]]


def _reports():
    from idp.adapters.import_reports import DynamoImportReports

    return DynamoImportReports(container().table)


def _config(slug: str) -> tuple[dict, ProvisioningConfig]:
    from idp.provisioning.planner import ProvisioningConfig

    app = container().store.get_app(slug)
    if not app:
        raise not_found("app", slug)
    cfg = ProvisioningConfig.from_app(app)
    if cfg is None:
        raise DomainError(409, "not_configured",
                          f"provisioning is not configured for app '{slug}': PUT /admin/apps/{slug}/provisioning first")
    return app, cfg


def _object_body(allowed: set[str]) -> dict:
    request = current_request(router, with_form=False)
    if not body_text(request).strip():
        return {}
    body = json_body(request)
    if not isinstance(body, dict):
        raise DomainError(400, "invalid_body", "the request body must be a JSON object")
    for key in body:
        if key not in allowed:
            raise DomainError(400, "unknown_field", f"unknown field '{key}'")
    return body


def _sp_users(cfg: ProvisioningConfig) -> tuple[list[dict], bool]:
    from idp.provisioning.import_report import MAX_SP_USERS
    from idp.scim.protocol import AuthError, ScimError

    client = container().engine.client_for(cfg)
    users: list[dict] = []
    try:
        for resource in client.iterate("Users", page_size=100, max_pages=MAX_SP_USERS // 100 + 1):
            if len(users) >= MAX_SP_USERS:
                return users, True
            users.append(resource)
    except AuthError as exc:
        raise DomainError(409, "sp_auth_failed", f"the SP refused the token: {exc.message}") from None
    except ScimError as exc:
        # The app's SP configuration cannot be used right now: a 409 naming it (the request itself is fine, and
        # nothing of ours failed); Test Connection says more, and the report can be asked for again.
        raise DomainError(409, "sp_unavailable", f"the SP's users could not be read: {exc.message}; check Base URL "
                          "and Token Key with POST .../provisioning/test, then ask for the report again") from None
    except Exception as exc:  # noqa: BLE001 - a hostile SP's answer is its failure (a 409 naming it), never a 5xx of ours
        raise _unreadable(cfg.slug, exc) from None
    return users, False


def _unreadable(slug: str, exc: BaseException) -> DomainError:
    log.exception("the import of %s failed on the SP's answer", slug, extra={"app": slug})
    return DomainError(409, "sp_unreadable", f"the SP's users could not be used ({type(exc).__name__}: {str(exc)[:300]}); "
                       "the SP answered something that is not SCIM; ask for the report again once it is fixed")


def _directory_states(cfg: ProvisioningConfig) -> dict[str, dict]:
    from idp.scim import mapping as mp

    store, states, cursor = container().store, {}, None
    while True:
        page, cursor = store.list_users(200, cursor)
        for user in page:
            states[user["id"]] = mp.desired_user_state(user, cfg.attribute_mapping)
        if not cursor:
            return states


@router.post("/admin/apps/<slug>/provisioning/import", tags=["audit"], security=api.SECURITY,
             summary="Match the SP's users against the directory (writes nothing to the SP)",
             responses=ok(200, ImportReportView, "the report", 400, 404, 409))
def import_report(slug: str, body: NoBody = None):
    from idp.directory.access import users_of_app
    from idp.provisioning.import_report import classify
    from idp.scim import mapping as mp

    _object_body(set())
    _app, cfg = _config(slug)
    sp_users, truncated = _sp_users(cfg)
    parts = container()
    linked = {uid: m["scim_id"] for uid, m in parts.provisioning_state.maps(slug, "USER", attributes=("scim_id",)).items()
              if m.get("scim_id")}
    try:
        report = classify(sp_users, _directory_states(cfg), linked, users_of_app(parts.store, slug), cfg.matching_attribute,
                          (cfg.attribute_mapping or mp.DEFAULT_USER_MAPPING).keys())
    except (AttributeError, KeyError, TypeError, ValueError, RecursionError) as exc:  # the SP users' shapes
        raise _unreadable(slug, exc) from None
    rid = f"imp-{secrets.token_hex(8)}"
    _reports().put(slug, rid, {"items": report.items, "to_create": report.to_create, "sp_states": report.sp_states})
    log.info("import report app=%s id=%s sp_users=%d matched=%d conflicts=%d unmatched=%d to_create=%d", slug, rid,
             len(report.items), *(sum(1 for i in report.items if i["status"] == s) for s in ("matched", "conflict", "unmatched")),
             len(report.to_create), extra={"app": slug})
    return {"id": rid, "items": report.items, "to_create": report.to_create, "truncated": truncated}


def _strings(body: dict, name: str) -> list:
    value = body.get(name) or []
    if not isinstance(value, list):
        raise DomainError(400, "invalid_field", f"field '{name}' must be a list")
    return value


@router.post("/admin/apps/<slug>/provisioning/import/<report_id>/confirm", tags=["audit"], security=api.SECURITY,
             summary="Link SP users to directory users and create directory users from SP-only ones (once per report)",
             responses=ok(200, ImportConfirmed, "what was linked and created", 400, 404, 409))
def confirm_import(slug: str, report_id: str, body: ConfirmBody = None):
    from idp.provisioning.ports import STATUS_PENDING
    from idp.scim import mapping as mp

    opts = _object_body({"links", "create_users"})
    _config(slug)
    reports = _reports()
    report = reports.get(slug, report_id)
    if report is None:
        raise not_found("import report", report_id)
    if report.get("confirmed_at"):
        raise DomainError(409, "already_confirmed", f"import report '{report_id}' was confirmed already; run a new import")
    rows = {row["sp_id"]: row for row in report["items"]}
    parts = container()
    links = _validated_links(_strings(opts, "links"), rows, parts, slug)
    creates = _strings(opts, "create_users")
    for i, sp_id in enumerate(creates):
        if not isinstance(sp_id, str) or rows.get(sp_id, {}).get("status") != "unmatched":
            raise DomainError(400, "invalid_field", f"field 'create_users[{i}]': '{sp_id}' is not an unmatched SP user of this report")
    if not reports.mark_confirmed(slug, report_id):
        raise DomainError(409, "already_confirmed", f"import report '{report_id}' was confirmed already; run a new import")
    state = parts.provisioning_state
    for sp_id, uid in links:
        current = report["sp_states"][sp_id]
        state.save_pushed(slug, "USER", uid, scim_id=sp_id, status=STATUS_PENDING, pushed=current,
                          pushed_hash=mp.state_hash(current))
    state.open_import_gate(slug)
    request = current_request(router, with_form=False)
    directory = parts.directory.acting_as(API_ADMIN, request.client_ip, request.headers.get("user-agent"))
    created = [_create_user(directory, sp_id, report["sp_states"][sp_id]) for sp_id in creates]
    if links:
        parts.publisher.publish([event("app.access_changed", uid, app=slug) for _sp, uid in links])
    directory.record("admin.app.import_confirmed", app=slug,
                     detail={"report_id": report_id, "linked": len(links), "created": sum(1 for c in created if "user_id" in c)})
    return {"id": report_id, "linked": [{"sp_id": s, "user_id": u} for s, u in links], "created": created}


def _validated_links(links: list, rows: dict, parts, slug: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    seen_sp, seen_users = set(), set()
    linked = {uid: m["scim_id"] for uid, m in parts.provisioning_state.maps(slug, "USER", attributes=("scim_id",)).items()
              if m.get("scim_id")}
    owners = {scim_id: uid for uid, scim_id in linked.items()}
    for i, link in enumerate(links):
        field = f"links[{i}]"
        if not isinstance(link, dict) or set(link) != {"sp_id", "user_id"} or not all(isinstance(v, str) for v in link.values()):
            raise DomainError(400, "invalid_field", f"field '{field}' must be {{\"sp_id\": ..., \"user_id\": ...}}")
        sp_id, uid = link["sp_id"], link["user_id"]
        if sp_id not in rows:
            raise DomainError(400, "invalid_field", f"field '{field}.sp_id': '{sp_id}' is not an SP user of this report")
        if sp_id in seen_sp or uid in seen_users:
            raise DomainError(400, "invalid_field", f"field '{field}': each SP user and each directory user at most once")
        if not parts.store.get_user(uid):
            raise DomainError(400, "invalid_field", f"field '{field}.user_id': no directory user '{uid}'")
        if linked.get(uid) not in (None, sp_id):
            raise DomainError(409, "conflict", f"user '{uid}' is linked to SP user '{linked[uid]}' already")
        if owners.get(sp_id) not in (None, uid):
            raise DomainError(409, "conflict", f"SP user '{sp_id}' is linked to user '{owners[sp_id]}' already")
        seen_sp.add(sp_id)
        seen_users.add(uid)
        out.append((sp_id, uid))
    return out


def _create_user(directory, sp_id: str, state: dict) -> dict:
    """A directory user (unbound) from an SP-only user; a clash or a bad value is reported, not raised."""
    from idp.scim import mapping as mp

    username = str(state.get("userName") or "")
    email = state.get(mp.WORK_EMAIL) or (username if "@" in username else None)
    local = username.split("@")[0] or username
    body = {"username": username, "email": email, "firstname": state.get("name.givenName") or local,
            "lastname": state.get("name.familyName") or local}
    try:
        user = directory.create_user(body)
    except DomainError as exc:
        return {"sp_id": sp_id, "error": exc.code, "message": exc.message}
    return {"sp_id": sp_id, "user_id": user["id"]}

