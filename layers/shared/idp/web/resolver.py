"""One set of routes, two hosts: the API Gateway HTTP API resolver a Lambda handler calls, and the
ASGI app uvicorn serves locally (which hands the routes the same event shape), both with the same
error handlers."""
from __future__ import annotations

import asyncio
import base64
import functools
import html
import logging

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, HttpResolverLocal, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.http_resolver import MockLambdaContext, _RequestState
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestUnsupportedContentType, RequestValidationError

from idp.kernel.errors import DomainError
from idp.kernel.faults import deadline, retry_after

log = Logger(child=True)

# A request's AWS calls start no attempt later than this before the function's own timeout (one attempt's
# connect and read time, idp.adapters.aws): its answer, a 503 when AWS did not answer in time, leaves first.
DEADLINE_MARGIN_SECONDS = 7.0
LOCAL_DEADLINE_SECONDS = 8.0  # the local stack: as a web function with the template's 15 s timeout


def request_deadline(context) -> float:
    """Seconds this request's AWS calls may start within (from the Lambda context's remaining time)."""
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    try:
        return max(1.0, remaining() / 1000 - DEADLINE_MARGIN_SECONDS) if callable(remaining) else LOCAL_DEADLINE_SECONDS
    except Exception:  # noqa: BLE001 - a mock context without a number
        return LOCAL_DEADLINE_SECONDS


def unavailable_json(seconds: int) -> Response:
    """AWS throttled or failed: a 503 the admin API's clients can retry after `seconds` (contract section 13)."""
    return Response(status_code=503, content_type="application/json", headers={"Retry-After": str(seconds)},
                    body={"error": "service_unavailable",
                          "message": f"the service is busy or briefly unavailable; nothing was changed unless an "
                                     f"earlier answer said so. Try again in {seconds} s"})


def _no_route_arguments(record: logging.LogRecord) -> bool:
    """powertools logs a route's arguments at DEBUG: with typed routes they hold the request body, so
    a password or a SCIM token. That line never reaches a log."""
    return not str(record.msg).startswith("Calling API Route Handler")


logging.getLogger("aws_lambda_powertools.event_handler.api_gateway").addFilter(_no_route_arguments)


def _json_error(status: int, code: str, message: str) -> Response:
    return Response(status_code=status, content_type="application/json", body={"error": code, "message": message})


def _api_error(exc: DomainError) -> Response:
    if exc.status >= 500:
        log.error("server error: %s", exc.message)
    return _json_error(exc.status, exc.code, exc.message)


def _unauthorized(app) -> Response | None:
    """powertools validates before the route's middlewares run: the token still comes first."""
    from idp.web.auth import admin_middleware

    try:
        admin_middleware(app, lambda _app: None)
    except DomainError as exc:
        return _json_error(exc.status, exc.code, exc.message)
    return None


def _unsupported_media_type(app, exc: RequestUnsupportedContentType) -> Response:
    # A typed route's body in a media type powertools cannot read (text/plain, XML, ...): a 415 naming it.
    from idp.web.http import unsupported_media_type

    refused = _unauthorized(app) or unsupported_media_type(app.current_event.headers.get("content-type"))
    return refused if isinstance(refused, Response) else _json_error(refused.status, refused.code, refused.message)


def _invalid_request(app, exc: RequestValidationError) -> Response:
    # powertools parses a typed route's body and query before the route runs (the services validate
    # them after). Its words are not the contract's: answer what our own reading of the body says.
    refused = _unauthorized(app)
    if refused:
        return refused
    first = (exc.errors() or [{}])[0]
    loc = [str(p) for p in first.get("loc", ())]
    if loc[:1] == ["body"]:
        return _invalid_body(app)
    name = loc[-1] if loc else "request"
    where = "query parameter" if loc[:1] == ["query"] else "parameter"
    return _json_error(400, "invalid_query" if loc[:1] == ["query"] else "invalid_field",
                       f"{where} '{name}': {first.get('msg', 'is not valid')}")


def _invalid_body(app) -> Response:
    from idp.web.http import json_body
    from idp.web.request import current_request

    try:
        json_body(current_request(app, with_form=False))  # the 400 (or 413) that says why
    except DomainError as exc:
        return _json_error(exc.status, exc.code, exc.message)
    return _json_error(400, "invalid_body", "the request body must be a JSON object")


def _not_found(app, exc: NotFoundError) -> Response:
    # The path is the client's: escaped and cut short, never reflected as it came.
    path = html.escape((app.current_event.path or "")[:100], quote=True)
    return _json_error(404, "not_found", f"no route for {app.current_event.http_method} {path}")


def _unexpected(exc: Exception) -> Response:
    if (seconds := retry_after(exc)) is not None:
        log.warning("AWS unavailable: %s: %s", type(exc).__name__, str(exc)[:200])
        return unavailable_json(seconds)
    log.exception("unhandled error")
    return _json_error(500, "internal_error", "an internal error occurred; it has been logged")


def install_error_handlers(app) -> None:
    """DomainError becomes its 4xx; an unknown route a 404; anything else a logged 500 that leaks nothing."""
    app.exception_handler(DomainError)(_api_error)
    app.exception_handler(RequestUnsupportedContentType)(functools.partial(_unsupported_media_type, app))
    app.exception_handler(RequestValidationError)(functools.partial(_invalid_request, app))
    app.not_found(functools.partial(_not_found, app))
    app.exception_handler(Exception)(_unexpected)


SECURITY_HEADERS = {"X-Content-Type-Options": "nosniff"}


def with_security_headers(response: dict) -> dict:
    """Every answer, pages, JSON and errors alike, carries the headers every response must have."""
    headers = response.setdefault("headers", {}) or {}
    response["headers"] = headers
    for name, value in SECURITY_HEADERS.items():
        if not any(k.lower() == name.lower() for k in headers):
            headers[name] = value
    return response


class HttpApiResolver(APIGatewayHttpResolver):
    """powertools' HTTP API resolver, with the security headers on every response."""

    def resolve(self, event, context):
        with deadline(request_deadline(context)):
            return with_security_headers(super().resolve(event, context))


def _typed(routers) -> bool:
    """A typed router (the admin API's) needs powertools' validation to hand its routes their
    parameters; the SAML, login and metadata functions mount none and never import the OpenAPI code."""
    return any(getattr(router, "typed", False) for router in routers)


def _mount(app, routers) -> None:
    for router in routers:
        app.include_router(router)
    install_error_handlers(app)


def lambda_app(*routers) -> APIGatewayHttpResolver:
    """The resolver a Lambda handler calls, with the given routers mounted."""
    app = HttpApiResolver(enable_validation=_typed(routers))
    _mount(app, routers)
    return app


class LocalHttpResolver(HttpResolverLocal):
    """HttpResolverLocal that runs each (synchronous) request in a worker thread and keeps the raw
    query string, cookies and client address, as API Gateway HTTP API events carry them."""

    async def asgi_handler(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await super().asgi_handler(scope, receive, send)
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body", False):
                break
        headers: dict[str, str] = {}
        for key, value in scope.get("headers", []):
            name, val = key.decode("latin-1").lower(), value.decode("latin-1")
            headers[name] = f"{headers[name]}, {val}" if name in headers and name != "cookie" else (f"{headers[name]}; {val}" if name in headers else val)
        raw_query = scope.get("query_string", b"").decode("latin-1")
        from urllib.parse import parse_qs

        parsed = parse_qs(raw_query, keep_blank_values=True)
        client = scope.get("client") or ("127.0.0.1", 0)
        event = {
            "httpMethod": scope["method"].upper(),
            "path": scope["path"],
            "headers": headers,
            "body": _body_text(body, headers.get("content-type")),
            "isBase64Encoded": _binary(body, headers.get("content-type")),
            "queryStringParameters": {k: v[-1] for k, v in parsed.items()},
            "multiValueQueryStringParameters": parsed,
            "pathParameters": {},
            "rawQueryString": raw_query,
            "requestContext": {"stage": "local", "requestId": "local", "http": {"method": scope["method"].upper(), "path": scope["path"], "sourceIp": client[0]}},
        }
        response = await asyncio.to_thread(self._resolve_in_thread, event)
        await self._send_response(send, response)

    def _resolve_in_thread(self, event: dict) -> dict:
        """The request's event goes into its own state before `resolve` runs. `resolve` also stores it in
        BaseRouter's class attribute, shared by every thread, and a route read it from there when the state
        held none: two requests at once could each read the other's body (six concurrent POST /admin/users on
        a fresh stack: five answered 409 for another request's username). With the state set, the routes of
        this app read their own request. (`resolve` keeps writing the class attribute: a router that another
        resolver in the same process included last, as in the test suite, still reads it there.)"""
        state = _RequestState(event=self._to_proxy_event(event), lambda_context=MockLambdaContext(),
                              context=self._startup_state.context.copy())
        token = self._request_state.set(state)
        try:
            with deadline(LOCAL_DEADLINE_SECONDS):
                return with_security_headers(self.resolve(event, state.lambda_context))
        finally:
            self._request_state.reset(token)


def _is_utf8(body: bytes) -> bool:
    try:
        body.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


def _binary(body: bytes, content_type: str | None) -> bool:
    """Whether the event carries the body base64-encoded, as API Gateway does a binary one: here a body that is
    not UTF-8, unless it claims to be JSON or a form (read as text with U+FFFD, as before: the routes' 400s)."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    return bool(body) and media not in ("", "application/json", "application/x-www-form-urlencoded") and not _is_utf8(body)


def _body_text(body: bytes, content_type: str | None) -> str | None:
    if not body:
        return None
    if _binary(body, content_type):
        return base64.b64encode(body).decode("ascii")
    return body.decode("utf-8", errors="replace")


def local_app(*routers) -> LocalHttpResolver:
    """The ASGI app the local stack serves with uvicorn, with the given routers mounted."""
    app = LocalHttpResolver(enable_validation=_typed(routers))
    _mount(app, routers)
    return app
