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

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from idp.bootstrap import container
from idp.kernel.errors import DomainError
from idp.web import api_models as api
from idp.web.api_models import Cursor, IdFilter, LogLimit, ok, options
from idp.web.auth import admin_middleware
from idp.web.http import body_text, json_body
from idp.web.request import WebRequest, current_request

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


def _request() -> WebRequest:
    return current_request(router, with_form=False)


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


@router.post("/admin/apps/<slug>/provisioning/test", **doc("Test the SCIM connection", ok(200, api.ConnectionTest, "the outcome", 400, 404, 409, 413)))
def test_connection(slug: str, body: TestOptions = None):
    opts = _options({"full": bool, "test_email": str})
    return container().provisioning_admin.test_connection(slug, full=bool(opts.get("full")),
                                                         test_email=opts.get("test_email")).as_json()


@router.post("/admin/apps/<slug>/provisioning/sync", **doc("Reconcile the app now", {**ok(200, api.SyncResult, "the sync's summary", 400, 404, 409, 413, 503), 202: {"description": "queued", "content": {"application/json": {"model": api.SyncResult}}}}))
def sync_app(slug: str, body: SyncOptions = None):
    from idp.app.provisioning_results import SyncQueued  # with the first request, not at the admin function's cold start

    opts = _options({"confirm": bool, "async": bool})
    done = container().provisioning_admin.sync(slug, confirm=bool(opts.get("confirm")), queued=bool(opts.get("async")))
    if isinstance(done, SyncQueued):
        return Response(status_code=202, content_type="application/json", body=done.as_json())
    return done.as_json()


@router.post("/admin/apps/<slug>/provisioning/users/<user_id>/sync", **doc("Provision one user now", ok(200, api.SyncResult, "the outcome", 400, 404, 409, 413)))
def sync_user(slug: str, user_id: str, body: NoOptions = None):
    _options({})
    return container().provisioning_admin.provision_user(slug, user_id).as_json()


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
    query = _request().query
    return container().provisioning_admin.log_page(slug, user_id=query.get("user_id"), group_id=query.get("group_id"),
                                                   limit=_int_query("limit", 50, 1, 500), cursor=query.get("cursor")).as_json()


@router.get("/admin/apps/<slug>/provisioning/status", **doc("Counts, state and the last error", ok(200, api.ProvisioningStatus, "the status", 404)))
def status(slug: str):
    return container().provisioning_admin.status(slug).as_json()
