"""The admin API's OpenAPI vocabulary: the response models, the one error model, and the request bodies
and query parameters as powertools annotations over idp.directory.models (not second copies).

Request bodies are *documented* with the services' models but validated by the services
(`idp.directory.models.parse`): the app and provisioning models need a validation context (plain http
to loopback in the local stack) powertools cannot pass, and `parse()` words the 400s the contract
promises. Only the admin resolver imports this module (the SAML functions' cold start never does).

Nothing here is built at import (the admin function's cold start): the models defer their schemas
(`defer_build`), the request bodies' JSON schemas are made when powertools first reads a route's
annotations, and powertools' OpenAPI models (`HTTPBearer`, `Tag`) load when the document is rendered.
"""
from __future__ import annotations

import json
from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

from idp.directory import models

BEARER = "bearerAuth"
SECURITY = [{BEARER: []}]


def security_schemes() -> dict:
    """The bearer scheme of the document. powertools' OpenAPI models (tens of pydantic models, built as
    they are imported) load only when the document is rendered, never at a cold start."""
    from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer

    return {BEARER: HTTPBearer(description="`Authorization: Bearer <admin token>` (the ADMIN_TOKEN secret)")}


def tags() -> list:
    """The document's tags, in order (powertools' Tag model, imported then)."""
    from aws_lambda_powertools.event_handler.openapi.models import Tag

    return [
        Tag(name="users", description="The directory's people"),
        Tag(name="groups", description="Groups and their members"),
        Tag(name="apps", description="Connected service providers (one per SP)"),
        Tag(name="access", description="Who may sign in to an app (implicit deny)"),
        Tag(name="keys", description="An app's SAML signing keys and their rotation"),
        Tag(name="provisioning", description="SCIM push to an app (Identity Management)"),
        Tag(name="audit", description="The audit log, sign-in diagnosis and the import of an SP's users"),
        Tag(name="mfa", description="Multi-factor sign-in: the global policy"),
        Tag(name="sources", description="Identity sources: HR systems that push users and groups over SCIM 2.0"),
        Tag(name="health", description="Liveness and the API document"),
    ]


class _View(BaseModel):
    """A response: the fields named here are always the documented ones; more may follow."""

    model_config = ConfigDict(extra="allow", defer_build=True)


class ErrorBody(BaseModel):
    """Every 4xx/5xx answer."""

    model_config = ConfigDict(defer_build=True, json_schema_extra={"examples": [{
        "error": "invalid_field", "message": "field 'email': must be an email address like name@example.com"}]})
    error: str = Field(description="a stable code: invalid_json, invalid_body, invalid_field, missing_field, "
                                   "unknown_field, invalid_query, unauthorized, not_found, conflict, ...")
    message: str = Field(description="what is wrong, naming the field")


class UserView(_View):
    model_config = ConfigDict(extra="allow", defer_build=True, json_schema_extra={"examples": [{
        "id": "3f1c...", "username": "jdoe", "email": "jdoe@example.com", "firstname": "Jane", "lastname": "Doe",
        "state": "ACTIVE", "version": 1, "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z"}]})
    id: str
    username: str
    email: str
    firstname: str | None = None
    lastname: str | None = None
    state: str | None = None
    roles: list[str] | None = Field(default=None, description='"admin": may use the admin console')


class GroupView(_View):
    id: str
    name: str
    description: str | None = None


class SigningKeyView(_View):
    kid: str
    status: str
    fingerprint_sha256: str | None = None
    not_before: str | None = None
    not_after: str | None = None
    created_at: str | None = None


class AppView(_View):
    """An app as the admin API shows it: settings, the IdP's URLs for it, certificate facts; never a secret."""

    slug: str
    label: str | None = None
    sp_entity_id: str | None = None
    acs_urls: list[str] | None = None
    idp_entity_id: str
    sso_url: str
    metadata_url: str
    certificate_url: str
    certificate_fingerprint_sha256: str | None = None
    signing_keys: list[SigningKeyView] = []
    provisioning: dict[str, Any] | None = Field(default=None, description="the settings; the token is never returned")


class UserPage(BaseModel):
    model_config = ConfigDict(defer_build=True)

    items: list[UserView]
    next_cursor: str | None


class GroupPage(BaseModel):
    model_config = ConfigDict(defer_build=True)

    items: list[GroupView]
    next_cursor: str | None


class MemberPage(BaseModel):
    model_config = ConfigDict(defer_build=True)

    items: list[dict[str, Any]]
    next_cursor: str | None


class AppPage(BaseModel):
    model_config = ConfigDict(defer_build=True)

    items: list[AppView]
    next_cursor: str | None


class KeyPage(BaseModel):
    model_config = ConfigDict(defer_build=True)

    items: list[SigningKeyView]
    next_cursor: str | None


class LogPage(BaseModel):
    model_config = ConfigDict(defer_build=True)

    items: list[dict[str, Any]]
    next_cursor: str | None


class ConnectionTest(_View):
    ok: bool
    detail: str | None = None


class SyncResult(_View):
    """A synchronous sync's summary (`ok` and counts), or 202 `{"queued": true}` for an asynchronous one."""

    ok: bool | None = None
    queued: bool | None = None


class Drift(_View):
    kind: str  # user | group
    id: str
    reason: str


class ProvisioningStatus(_View):
    """`in_sync`: the state last given to the SP (attributes, active, a group's members and name)
    equals what the directory wants now; `pending`: anything else not failed for good."""

    app: str
    enabled: bool
    state: str
    in_sync: int
    pending: int
    failed: int
    drift: list[Drift] = []
    last_error: str | None = None


class SourceView(_View):
    """An identity source; never its token."""

    id: str
    name: str
    match: str = Field(description="none, email or username: how a POSTed user links to an unowned directory user")
    on_delete: str = Field(description="suspend or delete: what the source's DELETE of a user does")
    created_at: str | None = None
    last_used_at: str | None = Field(default=None, description="when its token last opened the SCIM server (to the minute)")


class SourceCreated(_View):
    """A new source: its token appears only in this answer."""

    id: str
    name: str
    token: str = Field(description="`Authorization: Bearer <token>` for the SCIM server; shown once")
    scim_base_url: str = Field(description="<public base URL>/scim/v2")


class SourceToken(_View):
    id: str
    token: str = Field(description="the new token, shown once; the old one no longer works")


class SourcePage(BaseModel):
    model_config = ConfigDict(defer_build=True)

    items: list[SourceView]
    next_cursor: str | None


class LinkSent(_View):
    """An activation (or reset) link emailed: until when it works, and whether the mail service took the email."""

    id: str = Field(description="the user's id")
    expires_at: str = Field(description="when the link stops working (ISO 8601, UTC)")
    email_sent: bool = Field(description="false: no sender is configured or the mail service refused it (see the logs)")


class Health(_View):
    status: str


# ---------- request bodies and query parameters (documentation; the services validate) ----------
def body(model: type[BaseModel], description: str, *, example: dict | None = None):
    """A JSON request body documented by `model`'s schema."""
    schema = dict(model.model_json_schema())
    for name in getattr(model, "NOT_NULL", ()):  # optional in a PATCH, but the service refuses null
        prop = schema["properties"][name]
        kept = [alt for alt in prop.pop("anyOf", []) if alt.get("type") != "null"]
        if kept:
            prop.update(kept[0] if len(kept) == 1 else {"anyOf": kept})
        prop.pop("default", None)
    examples = {"example": {"summary": "a typical body", "value": example}} if example else None
    return Annotated[Any, Body(title=model.__name__, description=description, openapi_examples=examples),
                     WithJsonSchema(schema)]


def options(title: str, properties: dict[str, dict], description: str):
    """An optional JSON object of the given boolean/string options (unknown ones are a 400)."""
    schema = {"title": title, "type": "object", "additionalProperties": False, "properties": properties}
    return Annotated[Any, Body(title=title, description=description), WithJsonSchema(schema)]


Limit = Annotated[str | None, Query(description="page size, 1 to 200 (default 50)"),
                  WithJsonSchema({"type": "integer", "minimum": 1, "maximum": 200})]
LogLimit = Annotated[str | None, Query(description="page size, 1 to 500 (default 50)"),
                     WithJsonSchema({"type": "integer", "minimum": 1, "maximum": 500})]
Cursor = Annotated[str | None, Query(description="`next_cursor` of the previous page")]
IdFilter = Annotated[str | None, Query(description="only entries about this id (give user_id or group_id, not both)")]

def _mfa_policy_settings() -> type[BaseModel]:
    from idp.signon.mfa.policy_body import MfaPolicySettings  # only PUT /admin/mfa and the document need it

    return MfaPolicySettings


# The request bodies of the typed routes, by the name their annotations use (`body: api.UserCreateBody`):
# the model (or a function that imports it), the description, an example. Each is made on first access
# (PEP 562 `__getattr__` below): powertools reads a route's annotations when it first serves that route
# (or renders the document), so a cold start builds no model's JSON schema.
_BODIES = {
    "UserCreateBody": (models.UserCreate, "a new user (the password is write-only)",
                       {"username": "jdoe", "email": "jdoe@example.com", "firstname": "Jane", "lastname": "Doe"}),
    "UserPatchBody": (models.UserPatch, "any of the user's fields", {"title": "Engineer", "state": "SUSPENDED"}),
    "GroupCreateBody": (models.GroupCreate, "a new group", {"name": "Engineering"}),
    "GroupPatchBody": (models.GroupPatch, "any of the group's fields", {"description": "the builders"}),
    "AppCreateBody": (models.AppCreate, "a new app (a signing key pair is generated)",
                      {"slug": "officespace", "label": "OfficeSpace", "template": "officespace",
                       "sp_entity_id": "https://acme.officespacesoftware.com",
                       "acs_urls": ["https://acme.officespacesoftware.com/users/auth/saml/callback"]}),
    "AppPatchBody": (models.AppPatch, "any of the app's settings (not its slug)", {"label": "OfficeSpace (HQ)"}),
    "ProvisioningBody": (models.ProvisioningSettings, "SCIM settings (the token is write-only)",
                         {"base_url": "https://acme.officespacesoftware.com/api/scim/v2", "token": "<SCIM token>",
                          "enabled": True, "group_management": False}),
    "SourceCreateBody": (models.SourceCreate, "a new identity source (its SCIM token is shown once, in the answer)",
                         {"name": "Workday", "match": "email", "on_delete": "suspend"}),
    "MfaPolicyBody": (_mfa_policy_settings, "the global MFA policy",
                      {"policy": "required", "grace_days": 7, "methods": ["totp", "webauthn"]}),
    "PasswordPolicyBody": (models.PasswordPolicySettings, "the password policy (a field left out takes its default)",
                           {"min_length": 12, "block_common": True, "block_user_info": True}),
}


def errors(*statuses: int) -> dict[int, dict]:
    """The error answers a route can give, each the one error model."""
    described = {400: "invalid request (the message names the field)", 401: "no or a wrong admin token",
                 404: "no such resource", 409: "conflict with the current state", 413: "request body too large",
                 503: "a dependency is unavailable; try again"}
    return {s: {"description": described[s], "content": {"application/json": {"model": ErrorBody}}}
            for s in sorted({401, *statuses})}


def ok(status: int, model: type[BaseModel] | None, description: str, *more: int) -> dict[int, dict]:
    """The route's success answer (`model`, or no body when None) and its error answers."""
    success = {"description": description}
    if model is not None:
        success["content"] = {"application/json": {"model": model}}
    return {status: success, **errors(*more)}


# ---------- the document ----------
TITLE = "OfficeSpace IdP admin API"
VERSION = "1.0.0"
DESCRIPTION = ("The directory, apps, access, signing keys and SCIM provisioning of the IdP (CONTRACT.md section 2). "
               "Errors are `{\"error\", \"message\"}`; unknown body fields are a 400; lists take `?limit=&cursor=`.")


CSV_BODY_DESCRIPTION = ("UTF-8 (with or without a BOM), a header row naming columns among username, email, firstname, "
                        "lastname, displayname, title, department, employee_id, phone, location, state; at most 10,000 "
                        "rows. `username`, else `email`, finds an existing user; an empty cell leaves a field as it is")
CSV_EXAMPLE = ("username,email,firstname,lastname,department,state\n"
               "jdoe,jdoe@example.com,Jane,Doe,Engineering,ACTIVE\n"
               "asmith,asmith@example.com,Alan,Smith,Sales,SUSPENDED\n")

_POWERTOOLS_ONLY = ("HTTPValidationError", "ValidationError", "ResponseValidationError")


def _polish(document: dict) -> dict:
    """What powertools generates, with the contract's answers: no 422 (validation failures are our 400
    ErrorBody), no body on a 204, a 415 wherever a body is taken, and the request models as named components."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.get("responses", {})
            responses.pop("422", None)
            if "204" in responses:
                responses["204"].pop("content", None)
            if "requestBody" in operation and "401" in responses:  # a body of another media type (contract section 2)
                responses["415"] = {**responses["401"], "description": "the body is not JSON (Content-Type)"}
                operation["responses"] = dict(sorted(responses.items()))
            content = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
            schema = content.get("schema") or {}
            if schema.get("title") and "properties" in schema:
                schemas.setdefault(schema["title"], schema)
                content["schema"] = {"$ref": f"#/components/schemas/{schema['title']}"}
    csv_preview = document.get("paths", {}).get("/admin/imports/users", {}).get("post")
    if csv_preview is not None:  # its body is a file, read by the route itself (no typed body parameter)
        csv_preview["requestBody"] = {"required": True, "description": CSV_BODY_DESCRIPTION, "content": {
            "text/csv": {"schema": {"type": "string"}, "example": CSV_EXAMPLE}}}
    for name in _POWERTOOLS_ONLY:
        schemas.pop(name, None)
    document["components"] = {k: document["components"][k] for k in sorted(document["components"])}
    document["components"]["schemas"] = dict(sorted(schemas.items()))
    return document


def openapi_document(app) -> dict:
    """The OpenAPI 3 document of the admin resolver's routes (what GET /admin/openapi.json serves)."""
    raw = app.get_openapi_json_schema(title=TITLE, version=VERSION, description=DESCRIPTION,
                                      security_schemes=security_schemes(), tags=tags())
    return _polish(json.loads(raw))


def openapi_json(app) -> str:
    return json.dumps(openapi_document(app), indent=2, sort_keys=False) + "\n"


_LAZY = {"SECURITY_SCHEMES": security_schemes, "TAGS": tags}


def __getattr__(name: str):
    """The request bodies (`UserCreateBody`, ...), `SECURITY_SCHEMES` and `TAGS` (the local stack's Swagger
    UI, the tests): each built on its first access, then kept as a module attribute."""
    if name in _BODIES:
        model, description, example = _BODIES[name]
        value = body(model if isinstance(model, type) else model(), description, example=example)
    elif name in _LAZY:
        value = _LAZY[name]()
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value
