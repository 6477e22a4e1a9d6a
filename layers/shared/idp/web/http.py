"""Reading an HTTP request the same way in Lambda (API Gateway v2 events) and locally."""
from __future__ import annotations

import json
from http.cookies import SimpleCookie
from urllib.parse import parse_qs

from idp.bootstrap import container
from idp.kernel.errors import DomainError

MAX_BODY = 256 * 1024


def body_text(event) -> str:
    """The request body as text (API Gateway may deliver it base64-encoded)."""
    raw = event.decoded_body if event.body is not None else ""
    if raw and len(raw) > MAX_BODY:
        raise DomainError(413, "body_too_large", f"the request body exceeds {MAX_BODY} bytes")
    return raw or ""


def json_body(event):
    """The JSON body, or a 400 that says it is not JSON."""
    text = body_text(event)
    if not text.strip():
        raise DomainError(400, "invalid_json", "the request body is empty; send a JSON object")
    try:
        return json.loads(text)
    except ValueError as exc:
        raise DomainError(400, "invalid_json", f"the request body is not valid JSON: {exc.msg} at position {exc.pos}") from None


def form(event) -> dict[str, str]:
    """An application/x-www-form-urlencoded body as a dict (last value wins)."""
    parsed = parse_qs(body_text(event), keep_blank_values=True)
    return {k: v[-1] for k, v in parsed.items()}


def raw_query(event) -> str:
    """The query string exactly as the client sent it (Redirect-binding signatures cover these octets)."""
    return event.raw_event.get("rawQueryString") or ""


def query(event, name: str) -> str | None:
    return (event.query_string_parameters or {}).get(name)


def page_limit(event, default: int = 50, maximum: int = 200) -> int:
    """`?limit=` as an int in 1..maximum, or a 400 that says what it must be."""
    raw = query(event, "limit")
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if not 1 <= value <= maximum:
        raise DomainError(400, "invalid_query", f"query parameter 'limit' must be an integer from 1 to {maximum}")
    return value


def client_ip(event) -> str:
    ctx = event.raw_event.get("requestContext") or {}
    return (ctx.get("http") or {}).get("sourceIp") or (ctx.get("identity") or {}).get("sourceIp") or "unknown"


def cookies(event) -> dict[str, str]:
    """Request cookies: API Gateway v2 passes them in `cookies`, plain HTTP in the Cookie header."""
    jar: dict[str, str] = {}
    pieces = list(event.raw_event.get("cookies") or [])
    header = (event.headers or {}).get("cookie") or (event.headers or {}).get("Cookie")
    if header:
        pieces.append(header)
    for piece in pieces:
        parsed = SimpleCookie()
        try:
            parsed.load(piece)
        except Exception:  # noqa: BLE001 - a malformed cookie is ignored, as browsers do
            continue
        jar.update({k: m.value for k, m in parsed.items()})
    return jar


def base_url(event) -> str:
    """The public base URL of this API (PUBLIC_BASE_URL when set, else from the request)."""
    configured = container().settings.public_base_url
    if configured:
        return configured
    headers = event.headers or {}
    host = headers.get("x-forwarded-host") or headers.get("host") or (event.raw_event.get("requestContext") or {}).get("domainName") or "localhost"
    proto = headers.get("x-forwarded-proto") or ("http" if host.startswith(("127.", "localhost")) else "https")
    return f"{proto}://{host}"
