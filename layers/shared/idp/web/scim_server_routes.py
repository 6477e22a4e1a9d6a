"""The SCIM 2.0 server of the identity sources at /scim/v2 (contract section 10; the ScimServerFunction, and the
local stack's API port): `Authorization: Bearer <source token>` only (the admin token opens nothing here), the
discovery endpoints, /Users and /Groups. Thin: idp.directory.inbound does the work, idp.scim.server speaks SCIM.
Every answer is application/scim+json; every refusal a SCIM error."""
from __future__ import annotations

import json
from typing import Any, Callable

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from pydantic import ValidationError
from scim2_models import NotFoundException, SCIMException

from idp.bootstrap import container
from idp.directory.inbound import SourceServer
from idp.kernel.errors import DomainError
from idp.scim import server
from idp.scim.protocol import SCIM_JSON
from idp.web.request import WebRequest, current_request

PREFIX = "/scim/v2"
_SOURCE = "idp.scim.source"
_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]

router = Router()


def _scim(status: int, body: Any = None, headers: dict[str, str] | None = None) -> Response:
    return Response(status_code=status, content_type=SCIM_JSON, headers=headers or {},
                    body="" if body is None else json.dumps(body, separators=(",", ":")))


def _error(status: int, detail: str, scim_type: str | None = None) -> Response:
    return _scim(status, server.error_body(status, detail, scim_type))


def scim_middleware(app: Any, next_middleware: Callable[[Any], Any]) -> Any:
    """Every /scim/v2 route needs a source's token (401 otherwise, as a SCIM error). powertools hoists a router's
    middlewares to the whole app, so the check keys on the path."""
    path = app.current_event.path or ""
    if not (path == PREFIX or path.startswith(PREFIX + "/")):
        return next_middleware(app)
    request = current_request(app, with_form=False)
    scheme, _, presented = request.headers.get("authorization", "").partition(" ")
    source = container().sources.authenticate(presented.strip()) if scheme.lower() == "bearer" and presented.strip() else None
    if source is None:
        return _error(401, "send 'Authorization: Bearer <identity source token>'; this token is not one")
    app.append_context(**{_SOURCE: source})
    return next_middleware(app)


router.use([scim_middleware])


def _request() -> WebRequest:
    return current_request(router, with_form=False)


def _server() -> SourceServer:
    request = _request()
    return container().inbound.for_source(router.context[_SOURCE], request.base_url.rstrip("/") + PREFIX,
                                          request.client_ip, request.headers.get("user-agent"))


def _answer(work: Callable[[], Response]) -> Response:
    try:
        return work()
    except SCIMException as exc:
        status, body = server.error_of(exc)
        return _scim(status, body)
    except DomainError as exc:  # a refusal the directory made outside an _as_scim block
        return _error(exc.status, exc.message, "uniqueness" if exc.status == 409 else None)
    except ValidationError as exc:  # a value scim2-models refused past the places that translate its refusals
        return _error(400, f"invalid value: {str(exc).splitlines()[-1][:200]}", "invalidValue")


def _body() -> dict[str, Any]:
    return server.read_json(_request().body or "")


def _collection(resource: str) -> Response:
    method, query = _request().method, dict(_request().query)
    base = _request().base_url.rstrip("/") + PREFIX
    if resource in ("ServiceProviderConfig", "ResourceTypes", "Schemas"):
        if method != "GET":
            return _error(405, f"{method} is not allowed on /{resource}: it is read-only")
        if resource == "ServiceProviderConfig":
            return _scim(200, server.service_provider_config(base))
        return _scim(200, server.discovery_list(server.resource_types(base) if resource == "ResourceTypes" else server.schemas(base)))
    if resource == ".search" and method == "POST":
        return _error(501, "searching several resource types at once is not supported: POST /Users/.search or /Groups/.search")
    if resource not in ("Users", "Groups"):
        raise NotFoundException(detail=f"no SCIM endpoint /{resource[:50]}")
    users = resource == "Users"
    if method == "GET":
        return _scim(200, (_server().list_users if users else _server().list_groups)(query))
    if method == "POST":
        created = (_server().create_user if users else _server().create_group)(_body())
        return _scim(201, created, {"Location": created["meta"]["location"]})
    return _error(405, f"{method} is not allowed on /{resource}")


def _item(resource: str, rid: str) -> Response:
    method, query = _request().method, dict(_request().query)
    base = _request().base_url.rstrip("/") + PREFIX
    if resource in ("ResourceTypes", "Schemas"):
        if method != "GET":
            return _error(405, f"{method} is not allowed on /{resource}: it is read-only")
        found = [r for r in (server.resource_types(base) if resource == "ResourceTypes" else server.schemas(base)) if r["id"] == rid]
        if not found:
            raise NotFoundException(detail=f"{resource[:-1]} '{rid[:100]}' not found")
        return _scim(200, found[0])
    if resource not in ("Users", "Groups"):
        raise NotFoundException(detail=f"no SCIM endpoint /{resource[:50]}/{rid[:50]}")
    srv, users = _server(), resource == "Users"
    if rid == ".search" and method == "POST":
        found = (srv.list_users if users else srv.list_groups)(server.search_query(_body()))
        return _scim(200, found)
    if method == "GET":
        return _scim(200, srv.get_user(rid, query) if users else srv.get_group(rid, query))
    if method == "PUT":
        return _scim(200, srv.replace_user(rid, _body()) if users else srv.replace_group(rid, _body()))
    if method == "PATCH":
        return _scim(200, srv.patch_user(rid, _body()) if users else srv.patch_group(rid, _body()))
    if method == "DELETE":
        (srv.delete_user if users else srv.delete_group)(rid)
        return _scim(204)
    return _error(405, f"{method} is not allowed on /{resource}/{{id}}")


@router.route(PREFIX + "/<resource>", method=_METHODS)
def scim_collection(resource: str):
    return _answer(lambda: _collection(resource))


@router.route(PREFIX + "/<resource>/<rid>", method=_METHODS)
def scim_item(resource: str, rid: str):
    return _answer(lambda: _item(resource, rid))


@router.route(PREFIX + "/<resource>/<rid>/<rest>", method=_METHODS)
def scim_deeper(resource: str, rid: str, rest: str):
    return _error(404, "no such SCIM endpoint")


def scim_resolver() -> Any:
    """The API Gateway resolver of the ScimServerFunction: these routes alone."""
    from idp.web.resolver import lambda_app

    return lambda_app(router)
