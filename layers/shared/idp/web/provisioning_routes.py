"""Admin routes of Identity Management (contract section 2). `PUT .../provisioning` is the lead's
(idp.web.admin_routes); these are the rest:

- POST /admin/apps/<slug>/provisioning/test            → {"ok", "detail"}; {"full": true, "test_email": ...}
                                                         also creates, updates, deactivates and deletes a test user ("steps")
- POST /admin/apps/<slug>/provisioning/sync            → reconcile now ({"confirm": true} passes the
                                                         deprovisioning guard; {"async": true} queues it)
- POST /admin/apps/<slug>/provisioning/users/<id>/sync → provision one user now
- GET  /admin/apps/<slug>/provisioning/log?user_id=&group_id=&limit=&cursor= → newest first
- GET  /admin/apps/<slug>/provisioning/status          → counts, state, last error
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from idp.adapters.dynamo import decode_cursor, encode_cursor
from idp.bootstrap import container
from idp.directory.models import is_email
from idp.kernel.errors import DomainError, not_found
from idp.kernel.events import event
from idp.web import api_models as api
from idp.web.api_models import Cursor, IdFilter, LogLimit, ok, options
from idp.web.auth import admin_middleware
from idp.web.http import body_text, json_body
from idp.web.request import WebRequest, current_request

if TYPE_CHECKING:  # the planner and the SCIM client's errors load with the first provisioning request (its reconciler needs them)
    from idp.provisioning.planner import ProvisioningConfig

router = Router()
router.typed = True  # documented in the admin API's OpenAPI document (idp.web.api_models)
router.use([admin_middleware])

TestOptions = options("ConnectionTestOptions", {"full": {"type": "boolean"}, "test_email": {"type": "string", "format": "email"}},
                      "optional: {\"full\": true, \"test_email\": ...} also creates, changes and removes a test user")
SyncOptions = options("SyncOptions", {"confirm": {"type": "boolean"}, "async": {"type": "boolean"}},
                      "optional: confirm passes the deprovisioning guard; async queues the sync")
NoOptions = options("NoOptions", {}, "optional; no fields")


def doc(summary: str, responses: dict) -> dict:
    return {"tags": ["provisioning"], "summary": summary, "responses": responses, "security": api.SECURITY}


def _reconciler():
    return container().reconciler


def _request() -> WebRequest:
    return current_request(router, with_form=False)


def _app(slug: str) -> dict:
    app = _reconciler().engine.directory.get_app(slug)
    if not app:
        raise not_found("app", slug)
    return app


def _options(allowed: dict[str, type]) -> dict:
    """An optional JSON object body with only the allowed fields (unknown ones are a 400)."""
    if not body_text(_request()).strip():
        return {}
    body = json_body(_request())
    if not isinstance(body, dict):
        raise DomainError(400, "invalid_body", "the request body must be a JSON object")
    for key, value in body.items():
        if key not in allowed:
            raise DomainError(400, "unknown_field", f"unknown field '{key}'")
        if not isinstance(value, allowed[key]):
            raise DomainError(400, "invalid_field", f"field '{key}' must be a {allowed[key].__name__}")
    return body


def _configured(slug: str) -> ProvisioningConfig:
    from idp.provisioning.planner import ProvisioningConfig

    cfg = ProvisioningConfig.from_app(_app(slug))
    if cfg is None:
        raise DomainError(409, "not_configured",
                       f"provisioning is not configured for app '{slug}': PUT /admin/apps/{slug}/provisioning first")
    return cfg


@router.post("/admin/apps/<slug>/provisioning/test", **doc("Test the SCIM connection", ok(200, api.ConnectionTest, "the outcome", 400, 404, 409, 413)))
def test_connection(slug: str, body: TestOptions = None):
    opts = _options({"full": bool, "test_email": str})
    _configured(slug)
    if not opts.get("full"):
        return _reconciler().test_connection(slug)
    email = (opts.get("test_email") or "").strip()
    if not is_email(email):
        raise DomainError(400, "invalid_field", "field 'test_email': a full test needs the email of a test user, "
                                               "e.g. idp-test@yourcompany.com (it is created and removed in the SP)")
    return _reconciler().activation_test(slug, email)


@router.post("/admin/apps/<slug>/provisioning/sync", **doc("Reconcile the app now", {**ok(200, api.SyncResult, "the sync's summary", 400, 404, 409, 413, 503), 202: {"description": "queued", "content": {"application/json": {"model": api.SyncResult}}}}))
def sync_app(slug: str, body: SyncOptions = None):
    opts = _options({"confirm": bool, "async": bool})
    cfg = _configured(slug)
    if not cfg.enabled:
        raise DomainError(409, "disabled", f"provisioning is disabled for app '{slug}'; enable it first")
    if opts.get("async"):
        if opts.get("confirm"):
            raise DomainError(400, "invalid_field", "field 'confirm' needs a synchronous sync (drop 'async')")

        failed = container().publisher.publish([event("app.sync", slug, app=slug)])
        if failed:
            raise DomainError(503, "queue_unavailable", "the sync could not be queued; try again")
        return Response(status_code=202, content_type="application/json", body={"queued": True})
    return _reconciler().sync_now(slug, confirm=bool(opts.get("confirm")))


@router.post("/admin/apps/<slug>/provisioning/users/<user_id>/sync", **doc("Provision one user now", ok(200, api.SyncResult, "the outcome", 400, 404, 409, 413)))
def sync_user(slug: str, user_id: str, body: NoOptions = None):
    _options({})
    cfg = _configured(slug)
    rec = _reconciler()
    if rec.engine.directory.get_user(user_id) is None and rec.state.get_map(slug, "USER", user_id) is None:
        raise not_found("user", user_id)
    if not cfg.enabled:
        raise DomainError(409, "disabled", f"provisioning is disabled for app '{slug}'; enable it first")
    return rec.provision_user_now(slug, user_id)


def _int_query(name: str, default: int, low: int, high: int) -> int:
    raw = _request().query.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise DomainError(400, "invalid_query", f"query parameter '{name}' must be an integer") from None
    if not low <= value <= high:
        raise DomainError(400, "invalid_query", f"query parameter '{name}' must be between {low} and {high}")
    return value


@router.get("/admin/apps/<slug>/provisioning/log", **doc("What was sent, the SP's answer, the outcome (newest first)", ok(200, api.LogPage, "a page of entries", 400, 404)))
def read_log(slug: str, user_id: IdFilter = None, group_id: IdFilter = None, limit: LogLimit = None, cursor: Cursor = None):

    _app(slug)
    user_id, group_id = _request().query.get("user_id"), _request().query.get("group_id")
    if user_id and group_id:
        raise DomainError(400, "invalid_query", "give 'user_id' or 'group_id', not both")
    limit = _int_query("limit", 50, 1, 500)
    start = decode_cursor(_request().query.get("cursor"))
    items, last = _reconciler().state.read_log_page(slug, user_id=user_id or None, group_id=group_id or None,
                                                    limit=limit, start_key=start)
    return {"items": items, "next_cursor": encode_cursor(last)}


@router.get("/admin/apps/<slug>/provisioning/status", **doc("Counts, state and the last error", ok(200, api.ProvisioningStatus, "the status", 404)))
def status(slug: str):
    from idp.adapters.read_scope import request_reads
    from idp.provisioning.planner import ProvisioningConfig
    from idp.provisioning.truth import of_app

    app = _app(slug)
    cfg = ProvisioningConfig.from_app(app)
    rec = _reconciler()
    st = rec.state.app_status(slug)
    with request_reads():  # the users and groups read in batches (DirectoryStore.read_ahead)
        truth = of_app(rec.engine, slug) if cfg is not None else None  # pushed state against what the directory wants now
    users = truth.users.as_dict() if truth else {"in_sync": 0, "pending": 0, "failed": 0}
    groups = truth.groups.as_dict() if truth else {"in_sync": 0, "pending": 0, "failed": 0}
    state = st.get("state", "ok")
    if cfg is None:
        state = "not_configured"
    elif not cfg.enabled:
        state = "disabled"
    return {
        "app": slug,
        "enabled": bool(cfg and cfg.enabled),
        "state": state,
        "reason": st.get("reason"),
        "in_sync": users["in_sync"] + groups["in_sync"],
        "pending": users["pending"] + groups["pending"],
        "failed": users["failed"] + groups["failed"],
        "users": users,
        "groups": groups,
        "drift": truth.drift if truth else [],
        "last_error": st.get("last_error"),
        "last_error_at": st.get("last_error_at"),
        "last_reconcile_at": st.get("last_reconcile_at"),
        "last_reconcile": st.get("last_reconcile"),
        "retry_in_seconds": round(rec.state.breaker_open_for(st), 1) or None,
    }
