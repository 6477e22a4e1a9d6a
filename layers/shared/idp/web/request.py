"""An HTTP request as the routes see it: a frozen value read once from the API Gateway HTTP API
event (or the local stack's equivalent) at the edge, so nothing further in gets the raw event.
It keeps the query string's raw octets (Redirect-binding signatures are checked over them as
received), the decoded query, the form of a POST, the cookies, the client address and the public
base URL (PUBLIC_BASE_URL, else the custom domain, else API Gateway's own domain name; never a
header the client sent)."""
from __future__ import annotations

import base64
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from types import MappingProxyType
from typing import Mapping
from urllib.parse import parse_qs

from idp.bootstrap import container
from idp.kernel.errors import DomainError

MAX_BODY = 256 * 1024
MAX_UPLOAD = 8 * 1024 * 1024  # a file upload (a CSV import of users; API Gateway takes at most 10 MB)
_CACHE_KEY = "idp.web.request"


def _empty() -> Mapping[str, str]:
    return MappingProxyType({})


@dataclass(frozen=True)
class WebRequest:
    method: str
    path: str
    raw_query: str = ""  # exactly as the client sent it
    query: Mapping[str, str] = field(default_factory=_empty)  # decoded; the last value of a repeated name wins
    form: Mapping[str, str] = field(default_factory=_empty)  # a POST's urlencoded body (last value wins); {} otherwise
    cookies: Mapping[str, str] = field(default_factory=_empty)
    headers: Mapping[str, str] = field(default_factory=_empty)  # names lower-cased
    client_ip: str = "unknown"
    base_url: str = "https://localhost"
    body: str = ""  # the decoded body text, not size-checked (checked_body() checks)
    files: Mapping[str, bytes] = field(default_factory=_empty)  # a multipart/form-data POST's files, by field name


def checked_body(body: str | None) -> str:
    """The body text, or a 413 when it exceeds MAX_BODY."""
    if body and len(body) > MAX_BODY:
        raise DomainError(413, "body_too_large", f"the request body exceeds {MAX_BODY} bytes")
    return body or ""


def parse_form(body: str | None) -> dict[str, str]:
    """An application/x-www-form-urlencoded body as a dict (last value wins)."""
    return {k: v[-1] for k, v in parse_qs(checked_body(body), keep_blank_values=True).items()}


def parse_multipart(data: bytes, content_type: str) -> tuple[dict[str, str], dict[str, bytes]]:
    """A multipart/form-data body as (text fields, files): a part with a filename is a file (its octets), any
    other part a field (UTF-8 text; last value wins). 413 above MAX_UPLOAD; a body that is not multipart: none."""
    from email.parser import BytesParser
    from email.policy import HTTP

    if len(data) > MAX_UPLOAD:
        raise DomainError(413, "body_too_large", f"the upload exceeds {MAX_UPLOAD // (1024 * 1024)} MB")
    message = BytesParser(policy=HTTP).parsebytes(b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + data)
    fields: dict[str, str] = {}
    files: dict[str, bytes] = {}
    if not message.is_multipart():
        return fields, files
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        payload = part.get_payload(decode=True) or b""
        if part.get_filename() is not None:
            files[name] = payload
        else:
            fields[name] = payload.decode("utf-8", errors="replace")
    return fields, files


def parse_cookies(pieces: list[str]) -> dict[str, str]:
    """Cookies from API Gateway v2's ``cookies`` list and/or a Cookie header; a malformed one is ignored, as browsers do."""
    jar: dict[str, str] = {}
    for piece in pieces:
        parsed = SimpleCookie()
        try:
            parsed.load(piece)
        except Exception:  # noqa: BLE001 - http.cookies raises CookieError and others on junk
            continue
        jar.update({k: m.value for k, m in parsed.items()})
    return jar


def gateway_base_url(domain_name: str | None) -> str:
    """API Gateway's own address for this API (used when neither PUBLIC_BASE_URL nor a custom domain
    is set). Never the client's Host or X-Forwarded-* headers: the entity ID, the SSO and SLO URLs and
    the Destination check hang on this value, and a client must not choose them."""
    return f"https://{domain_name or 'localhost'}"


def raw_body(raw_event: Mapping) -> bytes:
    """The request body's octets as the client sent them (API Gateway base64-encodes a binary body, and the local
    stack one that is not UTF-8): what a CSV upload's UTF-8 check must see."""
    body = raw_event.get("body")
    if not body:
        return b""
    if raw_event.get("isBase64Encoded"):
        try:
            return base64.b64decode(body)
        except (ValueError, TypeError):
            return b""
    return str(body).encode("utf-8", errors="surrogatepass")


def from_event(event, *, public_base_url: str | None, with_form: bool = True) -> WebRequest:
    """Read a powertools HTTP event once. ``with_form``: parse a POST body as a form (413 when too large)."""
    raw = event.raw_event
    headers = {str(k).lower(): str(v) for k, v in (event.headers or {}).items()}
    ctx = raw.get("requestContext") or {}
    method = (event.http_method or "").upper()
    # A body that is not UTF-8 text (a binary upload) is read with U+FFFD in place of what cannot be decoded:
    # raw_body() gives its octets to the route that wants them, and no other route fails on it.
    body = raw_body(raw).decode("utf-8", errors="replace") if raw.get("isBase64Encoded") else (event.body or "")
    form: Mapping[str, str] = _empty()
    files: Mapping[str, bytes] = _empty()
    if with_form and method == "POST":
        content_type = headers.get("content-type", "")
        if content_type.split(";", 1)[0].strip().lower() == "multipart/form-data":
            fields, uploaded = parse_multipart(raw_body(raw), content_type)
            form, files = MappingProxyType(fields), MappingProxyType(uploaded)
        else:
            form = MappingProxyType(parse_form(body))
    pieces = list(raw.get("cookies") or [])
    if headers.get("cookie"):
        pieces.append(headers["cookie"])
    return WebRequest(
        method=method,
        path=event.path or "",
        raw_query=raw.get("rawQueryString") or "",
        query=MappingProxyType(dict(event.query_string_parameters or {})),
        form=form,
        files=files,
        cookies=MappingProxyType(parse_cookies(pieces)),
        headers=MappingProxyType(headers),
        client_ip=(ctx.get("http") or {}).get("sourceIp") or (ctx.get("identity") or {}).get("sourceIp") or "unknown",
        base_url=public_base_url or gateway_base_url(ctx.get("domainName")),
        body=body,
    )


def current_request(router, *, with_form: bool = True) -> WebRequest:
    """The WebRequest of the request a router (or resolver) is handling, read on first use and kept in
    the request's context (powertools clears it after each request)."""
    event = router.current_event
    key = f"{_CACHE_KEY}.{with_form}"
    cached = router.context.get(key)
    if cached is not None and cached[0] is event:
        return cached[1]
    request = from_event(event, public_base_url=container().settings.configured_base_url(), with_form=with_form)
    router.context[key] = (event, request)
    return request
