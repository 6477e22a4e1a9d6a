"""What the admin API reads from a request beyond its WebRequest fields: the body as JSON (a 400
that says why when it is not) and the paging query parameter ``limit``."""
from __future__ import annotations

import json

from idp.kernel.errors import DomainError
from idp.web.request import WebRequest, checked_body


def body_text(request: WebRequest) -> str:
    """The request body as text (413 when it is larger than the API takes)."""
    return checked_body(request.body)


def json_body(request: WebRequest):
    """The JSON body, or a 400 that says it is not JSON."""
    text = body_text(request)
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
