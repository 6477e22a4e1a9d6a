"""Import of the users an SP already holds (contract section 8):

- POST /admin/apps/<slug>/provisioning/import (no body, or {}) → reads every SP user (SCIM GET /Users,
  paged, at most 10,000; nothing is written to the SP), classifies them (idp.provisioning.import_report), stores the
  report for 7 days and answers ``{"id", "items", "to_create", "truncated"}``;
- POST /admin/apps/<slug>/provisioning/import/<id>/confirm ``{"links": [{"sp_id", "user_id"}], "create_users":
  [sp_id]}`` → once per report (409 the second time): writes the id mappings the push uses (so the next push
  updates the linked SP users instead of creating duplicates), creates unbound directory users from SP-only
  ones, and opens the app's import gate (``require_import_confirmation``).

Both parse the request and call the SP import use case (idp.app.sp_import)."""
from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler.api_gateway import Router
from pydantic import BaseModel, ConfigDict, Field

from idp.bootstrap import container
from idp.kernel.audit import API_ADMIN
from idp.kernel.errors import DomainError
from idp.web import api_models as api
from idp.web.api_models import ok, options
from idp.web.auth import admin_middleware
from idp.web.http import body_text, json_body
from idp.web.request import current_request

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


@router.post("/admin/apps/<slug>/provisioning/import", tags=["audit"], security=api.SECURITY,
             summary="Match the SP's users against the directory (writes nothing to the SP)",
             responses=ok(200, ImportReportView, "the report", 400, 404, 409))
def import_report(slug: str, body: NoBody = None):
    _object_body(set())
    return container().sp_import.report(slug).as_json()


@router.post("/admin/apps/<slug>/provisioning/import/<report_id>/confirm", tags=["audit"], security=api.SECURITY,
             summary="Link SP users to directory users and create directory users from SP-only ones (once per report)",
             responses=ok(200, ImportConfirmed, "what was linked and created", 400, 404, 409))
def confirm_import(slug: str, report_id: str, body: ConfirmBody = None):
    opts = _object_body({"links", "create_users"})
    request = current_request(router, with_form=False)
    return container().sp_import.confirm(slug, report_id, opts.get("links"), opts.get("create_users"), actor=API_ADMIN,
                                         ip=request.client_ip, user_agent=request.headers.get("user-agent")).as_json()
