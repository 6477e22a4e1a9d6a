"""CSV import of users (contract section 10; not the import of an SP's users, idp.web.import_routes):

- POST /admin/imports/users, ``Content-Type: text/csv`` → 201 the preview ``{"id", "summary", "rows"}``
  (nothing written to the directory; 415 for another media type, 413 above MAX_CSV_BYTES or 10,000 rows, 400 a
  file that is not UTF-8, has no header row or unknown columns, or is empty);
- POST /admin/imports/users/{id}/confirm ``{"send_activation"?: bool}`` → 202 (once; 409 after): the job applies
  the create and update rows in the background (ImportJobFunction);
- GET /admin/imports/users/{id} → ``{"status", "applied", "failed_rows", "summary", ...}``."""
from __future__ import annotations

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from pydantic import BaseModel, ConfigDict, Field

from idp.bootstrap import container
from idp.directory.user_imports import UserImports
from idp.kernel.audit import API_ADMIN
from idp.kernel.errors import DomainError
from idp.web import api_models as api
from idp.web.api_models import ok, options
from idp.web.auth import admin_middleware
from idp.web.http import body_text, json_body
from idp.web.request import current_request, raw_body

router = Router()
router.typed = True
router.use([admin_middleware])

PREVIEW_PATH = "/admin/imports/users"
MAX_CSV_BYTES = 8 * 1024 * 1024  # below API Gateway's 10 MB payload limit; 10,000 rows are ~1-2 MB
CSV_TYPES = ("text/csv",)

ConfirmBody = options("UserImportConfirmation", {"send_activation": {
    "type": "boolean", "description": "email each created user their activation link (default false)"}},
    "optional; send_activation")


class RowErrorView(BaseModel):
    model_config = ConfigDict(defer_build=True)
    field: str
    message: str


class ImportRowView(BaseModel):
    model_config = ConfigDict(defer_build=True)
    row: int = Field(description="the line number in the file (the header is line 1)")
    action: str = Field(description="create, update, unchanged or error")
    user_id: str | None = None
    errors: list[RowErrorView] | None = None


class ImportSummary(BaseModel):
    model_config = ConfigDict(defer_build=True)
    create: int
    update: int
    unchanged: int
    error: int


class UserImportPreview(BaseModel):
    model_config = ConfigDict(defer_build=True)
    id: str
    summary: ImportSummary
    rows: list[ImportRowView]


class FailedRowView(BaseModel):
    model_config = ConfigDict(defer_build=True)
    row: int
    errors: list[RowErrorView]


class UserImportStatus(BaseModel):
    model_config = ConfigDict(defer_build=True, extra="allow")
    id: str
    status: str = Field(description="preview, running, done or failed")
    applied: int
    failed_rows: list[FailedRowView]
    summary: ImportSummary


def imports() -> UserImports:
    """The CSV imports, recording their audit events as the bearer-token admin from this request's client."""
    request = current_request(router, with_form=False)
    return container().user_imports.acting_as(API_ADMIN, request.client_ip, request.headers.get("user-agent"))


def csv_upload() -> bytes:
    """The request's CSV octets: a 415 unless it says text/csv, a 413 above MAX_CSV_BYTES."""
    request = current_request(router, with_form=False)
    content_type = request.headers.get("content-type")
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media not in CSV_TYPES:
        shown = (content_type or "").split(";", 1)[0].strip()[:100] or "none"
        raise DomainError(415, "unsupported_media_type", f"Content-Type '{shown}' is not accepted here; send the file "
                                                         "as text/csv (UTF-8, a header row)")
    data = raw_body(router.current_event.raw_event)
    if len(data) > MAX_CSV_BYTES:
        raise DomainError(413, "body_too_large", f"the file exceeds {MAX_CSV_BYTES // (1024 * 1024)} MB; an import takes "
                                                 "at most 10,000 rows")
    return data


@router.post(PREVIEW_PATH, tags=["users"], security=api.SECURITY,
             summary="Preview a CSV import of users (text/csv; nothing is written to the directory)",
             responses={**ok(201, UserImportPreview, "what importing each row would do", 400, 413),
                        415: {"description": "the body is not text/csv", "content": {"application/json": {"model": api.ErrorBody}}}})
def preview_import():  # no return annotation: powertools would read it as the response model
    return Response(status_code=201, content_type="application/json", body=imports().preview(csv_upload()))


@router.post(f"{PREVIEW_PATH}/<import_id>/confirm", tags=["users"], security=api.SECURITY,
             summary="Apply a previewed CSV import in the background (once)",
             responses=ok(202, UserImportStatus, "the job is queued; GET the import for its progress", 400, 404, 409, 413))
def confirm_import(import_id: str, body: ConfirmBody = None):
    request = current_request(router, with_form=False)
    options_: dict = {}
    if body_text(request).strip():
        options_ = json_body(request)
        if not isinstance(options_, dict):
            raise DomainError(400, "invalid_body", "the request body must be a JSON object")
        unknown = [k for k in options_ if k != "send_activation"]
        if unknown:
            raise DomainError(400, "unknown_field", f"unknown field '{unknown[0]}'")
    send = options_.get("send_activation", False)
    if not isinstance(send, bool):
        raise DomainError(400, "invalid_field", "field 'send_activation': must be true or false")
    return Response(status_code=202, content_type="application/json", body=imports().confirm(import_id, send))


@router.get(f"{PREVIEW_PATH}/<import_id>", tags=["users"], security=api.SECURITY,
            summary="A CSV import of users: its status, rows applied and failed rows",
            responses=ok(200, UserImportStatus, "the import", 404))
def import_status(import_id: str):
    return imports().status(import_id)
