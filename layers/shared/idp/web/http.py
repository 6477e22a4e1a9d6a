"""What the admin API reads from a request beyond its WebRequest fields: the body as JSON (a 415 when
it comes as another media type, a 400 that says why when it is not JSON) and the paging query parameter
``limit``."""
from __future__ import annotations

import json

from idp.kernel.errors import DomainError
from idp.web.request import WebRequest, checked_body


def body_text(request: WebRequest) -> str:
    """The request body as text (413 when it is larger than the API takes)."""
    return checked_body(request.body)


def is_json(content_type: str | None) -> bool:
    """Whether a Content-Type names JSON: ``application/json`` with any parameters (what powertools' validation
    of a typed route reads too); none given counts as JSON (a client that sends a body without saying what it is)."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    return not media or media == "application/json"


def unsupported_media_type(content_type: str | None) -> DomainError:
    """The 415 of a body the route does not take (contract section 2): it names the type and what to send."""
    shown = (content_type or "").split(";", 1)[0].strip()[:100]
    return DomainError(415, "unsupported_media_type",
                       f"a request body of Content-Type '{shown}' is not accepted here; send JSON (application/json)")


def json_body(request: WebRequest):
    """The JSON body: a 415 when the request says it is another media type, a 400 that says why when it is not JSON."""
    text = body_text(request)
    if text.strip() and not is_json(request.headers.get("content-type")):
        raise unsupported_media_type(request.headers.get("content-type"))
    if not text.strip():
        raise DomainError(400, "invalid_json", "the request body is empty; send a JSON object")
    try:
        return json.loads(text)
    except ValueError as exc:
        raise DomainError(400, "invalid_json", f"the request body is not valid JSON: {exc.msg} at position {exc.pos}") from None


def page_limit(request: WebRequest, default: int = 50, maximum: int = 200) -> int:
    """`?limit=` as an int in 1..maximum, or a 400 that says what it must be."""
    raw = request.query.get("limit")
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if not 1 <= value <= maximum:
        raise DomainError(400, "invalid_query", f"query parameter 'limit' must be an integer from 1 to {maximum}")
    return value
