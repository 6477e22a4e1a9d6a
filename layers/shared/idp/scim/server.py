"""SCIM 2.0 as a server speaks it (RFC 7643/7644), pure of storage and HTTP: the resource models (scim2-models),
the tolerance for Entra ID's and Okta's dialects, reading a request's body, its list parameters (filter, paging,
attributes), and writing resources, list responses, errors and the discovery documents. The identity sources'
server (idp.directory.inbound) decides what the directory does with them."""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Mapping

from pydantic import ValidationError
from scim2_models import (
    URN,
    AuthenticationScheme,
    Bulk,
    ChangePassword,
    Context,
    EnterpriseUser,
    Error,
    ETag,
    Filter,
    Group,
    InvalidFilterException,
    InvalidSyntaxException,
    InvalidValueException,
    ListResponse,
    Patch,
    PatchOp,
    ResourceType,
    ResponseParameters,
    SCIMException,
    ScimFilter,
    ScimPolicy,
    ServiceProviderConfig,
    Sort,
    User,
)

from idp.scim.protocol import ERROR_SCHEMA

UserResource = User[EnterpriseUser]
GroupResource = Group
MAX_BODY_BYTES = 1024 * 1024  # a larger request body is a 413 (contract section 10)
DEFAULT_COUNT = 100
MAX_COUNT = 200

# What the server tolerates: Entra ID removes members by a value list and writes emails by a filter that matches
# nothing yet (PATCH_POLICY); a POSTed or PUT resource may carry extensions it does not know (Entra's custom
# ones), which are dropped (POLICY). A PATCH path naming an unknown attribute stays an invalidPath.
PATCH_POLICY = ScimPolicy(remove_value_as_filter=ScimPolicy.RemoveValue.apply,
                          unmatched_path_filter=ScimPolicy.UnmatchedPathFilter.create)
POLICY = PATCH_POLICY.model_copy(update={"unknown": ScimPolicy.Unknown.ignore})

RESOURCE_MODELS: dict[str, Any] = {"Users": UserResource, "Groups": GroupResource}


def error_body(status: int, detail: str, scim_type: str | None = None) -> dict[str, Any]:
    """A SCIM error (RFC 7644 section 3.12): `status` as a string, `scimType` where the RFC names one."""
    body: dict[str, Any] = {"schemas": [ERROR_SCHEMA], "status": str(status), "detail": detail[:500]}
    if scim_type:
        body["scimType"] = scim_type
    return body


def error_of(exc: SCIMException) -> tuple[int, dict[str, Any]]:
    """The status and body of a SCIM exception (scim2-models' or ours)."""
    return exc.status, error_body(exc.status, exc.detail, exc.scim_type or None)


def _invalid(exc: ValidationError) -> SCIMException:
    """A pydantic refusal of a payload as the SCIM exception it stands for (invalidValue, mutability, ...)."""
    errors = Error.from_validation_errors(exc)
    if not errors:
        return InvalidValueException(detail=str(exc)[:300])
    return SCIMException.from_error(errors[0])


def read_json(text: str) -> Any:
    """A request body as JSON: 413 over 1 MB, invalidSyntax when it is not JSON."""
    if len(text.encode("utf-8", errors="surrogatepass")) > MAX_BODY_BYTES:
        raise PayloadTooLarge()
    if not text.strip():
        raise InvalidSyntaxException(detail="the request body is empty; send a JSON object")
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise InvalidSyntaxException(detail=f"the request body is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise InvalidSyntaxException(detail="the request body must be a JSON object")
    return value


class PayloadTooLarge(SCIMException):
    status = 413
    _default_detail = f"the request body exceeds {MAX_BODY_BYTES} bytes"


_ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:user"


def _manager(value: Any) -> Any:
    """Entra ID sends the enterprise extension's manager as a bare id, or as {"value": id} without the `$ref` the
    schema requires: both read as {"value": id, "$ref": "../Users/<id>"}."""
    if isinstance(value, str) and value:
        value = {"value": value}
    if isinstance(value, dict) and value.get("value") and "$ref" not in value:
        value = {**value, "$ref": f"../Users/{value['value']}"}
    return value


def _with_managers(body: Mapping[str, Any]) -> dict[str, Any]:
    """`body` (a resource, or a path-less PATCH value) with its manager read as `_manager` reads it."""
    out = dict(body)
    for key, value in body.items():
        if key.lower() == _ENTERPRISE and isinstance(value, dict):
            out[key] = {k: _manager(v) if k.lower() == "manager" else v for k, v in value.items()}
        elif key.lower() == f"{_ENTERPRISE}:manager":
            out[key] = _manager(value)
    return out


def _entra_operations(body: Mapping[str, Any]) -> dict[str, Any]:
    operations = body.get("Operations")
    if not isinstance(operations, list):
        return dict(body)
    fixed = []
    for op in operations:
        if isinstance(op, dict):
            path = str(op.get("path") or "").lower()
            if path in ("manager", f"{_ENTERPRISE}:manager"):
                op = {**op, "value": _manager(op.get("value"))}
            elif isinstance(op.get("value"), dict):
                op = {**op, "value": _with_managers(op["value"])}
        fixed.append(op)
    return {**body, "Operations": fixed}


def parse_resource(model: Any, body: Mapping[str, Any], replacing: bool = False) -> Any:
    """A POSTed (or PUT) resource, validated: unknown extensions dropped, `active: "False"` read as false."""
    ctx = Context.RESOURCE_REPLACEMENT_REQUEST if replacing else Context.RESOURCE_CREATION_REQUEST
    try:
        return model.model_validate(_with_managers(body), scim_ctx=ctx, scim_policy=POLICY)
    except ValidationError as exc:
        raise _invalid(exc) from None


def apply_patch(model: Any, body: Mapping[str, Any], resource: Any) -> bool:
    """Apply a PatchOp body to `resource` in place (RFC 7644 paths, Entra's capitalised ops, string booleans and
    member removal by a value list; Okta's path-less replace of a value object). True when something changed."""
    try:
        patch = PatchOp[model].model_validate(_entra_operations(body), scim_ctx=Context.RESOURCE_PATCH_REQUEST,
                                              scim_policy=PATCH_POLICY)
    except ValidationError as exc:
        raise _invalid(exc) from None
    try:
        return patch.patch(resource, PATCH_POLICY)
    except ValidationError as exc:
        raise _invalid(exc) from None


@dataclass(frozen=True)
class ListQuery:
    """A list request's parameters: the filter (bound to the model), 1-based paging, and what to return."""

    filter: ScimFilter[Any] | None
    start_index: int
    count: int
    params: ResponseParameters[Any] | None


def _number(query: Mapping[str, str], name: str, default: int) -> int:
    raw = query.get(name)
    if raw in (None, ""):
        return default
    try:
        return int(str(raw))
    except ValueError:
        raise InvalidValueException(detail=f"query parameter '{name}' must be an integer") from None


def response_parameters(model: Any, query: Mapping[str, str]) -> ResponseParameters[Any] | None:
    """`attributes` / `excludedAttributes` (comma-separated), checked against the model."""
    attributes, excluded = query.get("attributes"), query.get("excludedAttributes")
    if not attributes and not excluded:
        return None
    try:
        return ResponseParameters[model].model_validate(
            {"attributes": attributes or None, "excludedAttributes": excluded or None})
    except ValidationError as exc:
        raise _invalid(exc) from None


def list_query(model: Any, query: Mapping[str, str]) -> ListQuery:
    """Read `filter`, `startIndex`, `count`, `attributes` and `excludedAttributes` (invalidFilter, invalidValue)."""
    text = query.get("filter")
    parsed = None
    if text:
        try:
            parsed = ScimFilter[model](text)
        except SCIMException as exc:
            raise InvalidFilterException(detail=exc.detail) from None
        except (ValueError, TypeError) as exc:
            raise InvalidFilterException(detail=str(exc)) from None
    start = max(1, _number(query, "startIndex", 1))  # RFC 7644 3.4.2.4: a value below 1 is read as 1
    count = min(max(0, _number(query, "count", DEFAULT_COUNT)), MAX_COUNT)
    return ListQuery(parsed, start, count, response_parameters(model, query))


def search_query(body: Mapping[str, Any]) -> dict[str, str]:
    """A POST .../.search body (a SearchRequest) as the query parameters of the same GET."""
    query: dict[str, str] = {}
    for name in ("filter", "startIndex", "count", "attributes", "excludedAttributes"):
        value = body.get(name)
        if value is None:
            continue
        if isinstance(value, list):
            value = ",".join(str(v) for v in value)
        query[name] = str(value)
    return query


def matches(query: ListQuery, resource: Any) -> bool:
    return query.filter is None or query.filter.match(resource)


def dump(resource: Any, params: ResponseParameters[Any] | None = None, ctx: Context = Context.RESOURCE_QUERY_RESPONSE) -> dict[str, Any]:
    """A resource as the server answers it, with only the attributes asked for."""
    body: dict[str, Any] = resource.model_dump(scim_ctx=ctx, response_parameters=params)
    return body


def list_response(model: Any, resources: list[Any], total: int, start_index: int, params: ResponseParameters[Any] | None) -> dict[str, Any]:
    """A ListResponse of one page (`resources` already the page)."""
    page = ListResponse[model](total_results=total, start_index=start_index, items_per_page=len(resources), resources=resources)
    body: dict[str, Any] = page.model_dump(scim_ctx=Context.SEARCH_RESPONSE, response_parameters=params)
    return body


# ---------------------------------------------------------------- discovery (RFC 7644 section 4)
def service_provider_config(base_url: str) -> dict[str, Any]:
    config = ServiceProviderConfig(
        documentation_uri=None,
        patch=Patch(supported=True),
        bulk=Bulk(supported=False, max_operations=0, max_payload_size=MAX_BODY_BYTES),
        filter=Filter(supported=True, max_results=MAX_COUNT),
        change_password=ChangePassword(supported=False),
        sort=Sort(supported=False),
        etag=ETag(supported=False),
        authentication_schemes=[AuthenticationScheme(
            type=AuthenticationScheme.Type.oauthbearertoken, name="Bearer token",
            description="Authorization: Bearer <the identity source's token>", primary=True)],
    )
    body = config.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE)
    body["meta"] = {"resourceType": "ServiceProviderConfig", "location": f"{base_url}/ServiceProviderConfig"}
    return body


def resource_types(base_url: str) -> list[dict[str, Any]]:
    out = []
    for model in (UserResource, GroupResource):
        rtype = ResourceType.from_resource(model)
        body = rtype.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE)
        body["meta"] = {"resourceType": "ResourceType", "location": f"{base_url}/ResourceTypes/{body['id']}"}
        out.append(body)
    return out


# What the directory needs of every user beyond userName: an email and a first and last name. The published
# schema says so (a client that reads it, scim2-tester among them, sends them).
REQUIRED_USER_ATTRIBUTES = {"emails": ("value",), "name": ("givenName", "familyName")}


def _with_directory_requirements(schema: Any) -> Any:
    for attribute in schema.attributes or []:
        if attribute.name in REQUIRED_USER_ATTRIBUTES:
            attribute.required = True
            for sub in attribute.sub_attributes or []:
                if sub.name in REQUIRED_USER_ATTRIBUTES[attribute.name]:
                    sub.required = True
    return schema


def schemas(base_url: str) -> list[dict[str, Any]]:
    out = []
    for model in (User, EnterpriseUser, Group):
        schema = model.to_schema()
        body = (_with_directory_requirements(schema) if model is User else schema).model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE)
        body["meta"] = {"resourceType": "Schema", "location": f"{base_url}/Schemas/{body['id']}"}
        out.append(body)
    return out


def discovery_list(resources: list[dict[str, Any]]) -> dict[str, Any]:
    return {"schemas": [str(URN("urn:ietf:params:scim:api:messages:2.0:ListResponse"))], "totalResults": len(resources),
            "startIndex": 1, "itemsPerPage": len(resources), "Resources": resources}
