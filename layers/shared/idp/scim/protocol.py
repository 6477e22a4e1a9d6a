"""SCIM 2.0 as a protocol (RFC 7643/7644), without a transport: schema URNs, the classified
failures a client raises, filter literals, Retry-After, the value types of one exchange, and what an
SP's answer may be at most: `MAX_ANSWER_BYTES`, `REQUEST_DEADLINE`, `MAX_JSON_DEPTH`, `check_scim_id`,
and `deadline_scope` (a caller's time budget every request inside it must also respect)."""
from __future__ import annotations

import contextlib
import email.utils
import json
import time
import unicodedata
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Iterator, Mapping

SCIM_JSON = "application/scim+json"
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE_SCHEMA = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"

DEFAULT_TIMEOUT = (5.0, 30.0)  # connect, read (Entra gives an SP 60 s): each wait on the socket
REQUEST_DEADLINE = 20.0  # seconds one request may take in all (connect, headers, every chunk of the body)
MAX_ANSWER_BYTES = 4 * 1024 * 1024  # an answer's body at most (a page of 100 users is ~100 KB); more is refused
MAX_ERROR_BYTES = 64 * 1024  # of an error answer only this much is read (for its `detail`)
MAX_JSON_DEPTH = 32  # SCIM resources nest 4 or 5 levels; a deeper answer is refused, never walked
MAX_SCIM_ID = 256  # characters of an SP-assigned id
MAX_DETAIL = 500

#: A SCIM resource, request body or answer as JSON: its attributes are the SP's schema's (RFC 7643 leaves them
#: open), so the values are whatever JSON holds.
type ScimObject = dict[str, Any]


# ---------------------------------------------------------------- errors
class ScimError(Exception):
    """Base of every classified SCIM failure; `status` is the HTTP status (0: no answer)."""

    status: int = 0

    def __init__(self, message: str, *, status: int = 0, scim_type: str | None = None, method: str = "", path: str = ""):
        super().__init__(message)
        self.message = message
        self.status = status
        self.scim_type = scim_type
        self.method = method
        self.path = path


class RetryLater(ScimError):
    """A transient failure. `delay_seconds` is the SP's Retry-After when it sent one, else None:
    the caller computes a backoff with jitter from the message's receive count."""

    def __init__(self, message: str, delay_seconds: float | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.delay_seconds = delay_seconds


class Conflict(ScimError):
    """409: the object exists already (look it up and adopt it)."""


class NotFound(ScimError):
    """404: the object the SP had is gone (re-match, then create)."""


class PermanentError(ScimError):
    """400 and other 4xx: retrying the same request will not help; `detail` is the SP's message."""

    @property
    def detail(self) -> str:
        return self.message


class BadAnswer(PermanentError):
    """The SP answered 2xx with something the client cannot use: not JSON, nested deeper than
    `MAX_JSON_DEPTH`, larger than `MAX_ANSWER_BYTES`, not an object, `Resources` that are not a list
    of objects, an unusable `id`. Sending the same request again gets the same answer (permanent for
    the message), but it is the SP's fault: the dispatcher counts it against the app's breaker, so
    the app's status turns `failing` and names it."""


class DeadlineExceeded(RetryLater):
    """The request did not finish within its absolute deadline (`REQUEST_DEADLINE`, or less inside a
    `deadline_scope`): a slow or trickling SP. Transient."""


class BudgetSpent(DeadlineExceeded):
    """The caller's `deadline_scope` ran out (not the request's own deadline): the work was cut to keep
    the caller's time budget; the caller decides where it continues (e.g. on the app's own queue group)."""


class AuthError(ScimError):
    """401/403: a configuration problem (token, permissions, base URL), not a data problem."""


class PreconditionFailed(ScimError):
    """412: the If-Match ETag is stale."""


# ---------------------------------------------------------------- answers
_NOT_IN_ID = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}  # control, format, surrogate, private, unassigned, line breaks


def check_scim_id(value: Any) -> str | None:
    """Why `value` cannot be an SP-assigned id we put in a URL path, or None when it can. Refused: not a
    string, empty or blank, `.` or `..` (a client normalises them away: `PATCH /Users/..` becomes
    `PATCH /`), `/ ? # \\`, control or other non-printing characters, more than `MAX_SCIM_ID` characters."""
    if not isinstance(value, str):
        return f"the id is {type(value).__name__}, not a string"
    if not value.strip():
        return "the id is empty"
    if len(value) > MAX_SCIM_ID:
        return f"the id is {len(value)} characters long (at most {MAX_SCIM_ID})"
    if value.strip() in (".", ".."):
        return f"the id {value!r} is a path segment"
    bad = next((c for c in value if c in "/?#\\" or unicodedata.category(c) in _NOT_IN_ID), None)
    if bad is not None:
        return f"the id {value[:40]!r} contains {bad!r}"
    return None


def safe_scim_id(value: Any) -> str | None:
    """`value` when it is a usable SP id (see `check_scim_id`), else None."""
    return value if check_scim_id(value) is None else None


def too_deep(value: Any, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether parsed JSON nests deeper than `limit` (walked without recursion)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            if depth > limit:
                return True
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False


def loads_or_none(raw: bytes) -> Any:
    """Parsed JSON, or None when it does not parse or nests too deeply (never raises)."""
    try:
        value = json.loads(raw) if raw else None
    except (ValueError, RecursionError):
        return None
    return None if too_deep(value) else value


def error_detail(status: int, reason: str | None, raw: bytes) -> tuple[str, str | None]:
    """The SP's own words from a SCIM Error (`detail`, `scimType`), trimmed; else only the status."""
    body = loads_or_none(raw)
    if isinstance(body, dict):
        detail = body.get("detail") or body.get("message") or body.get("error")
        scim_type = body.get("scimType")
        if isinstance(detail, (dict, list)):
            detail = json.dumps(detail)
        if detail:
            return str(detail)[:MAX_DETAIL], (str(scim_type)[:100] if scim_type else None)
        if body.get("Errors"):
            return json.dumps(body["Errors"])[:MAX_DETAIL], None
    # Not a SCIM error: say the status, never echo the body (an internal page, a proxy's error, a secret).
    return f"HTTP {status} {reason or ''}".strip() + " (not a SCIM error response)", None


def parse_answer(method: str, path: str, raw: bytes, content_type: str | None, kw: Mapping[str, Any]) -> ScimObject | None:
    """The body of a 2xx answer: None when empty; an object where one is expected (GET, POST), else a
    `BadAnswer`; the body of PUT/PATCH/DELETE is not needed, so what is unusable there is dropped."""
    if not raw.strip():
        return None
    expected = method in ("GET", "POST")
    try:
        parsed = json.loads(raw)
    except RecursionError:
        if expected:
            raise BadAnswer(f"{method} {path}: the answer is JSON nested too deeply to read", **kw) from None
        return None
    except ValueError:
        if expected:
            raise BadAnswer(f"{method} {path}: the answer is not JSON ({content_type})", **kw) from None
        return None
    if too_deep(parsed):
        if expected:
            raise BadAnswer(f"{method} {path}: the answer nests deeper than {MAX_JSON_DEPTH} levels", **kw)
        return None
    if not isinstance(parsed, dict):
        if expected:
            raise BadAnswer(f"{method} {path}: the answer is a JSON {type(parsed).__name__}, not an object", **kw)
        return None
    return parsed


def as_resource(body: Any, method: str, path: str, where: str = "the answer") -> ScimObject:
    """`body` as one SCIM resource: an object whose `id` `check_scim_id` accepts."""
    if not isinstance(body, dict):
        raise BadAnswer(f"{method} {path}: {where} is not a SCIM resource ({type(body).__name__})", method=method, path=path)
    problem = check_scim_id(body.get("id")) if "id" in body else "it has no id"
    if problem:
        raise BadAnswer(f"{method} {path}: {where} has an unusable id: {problem}", method=method, path=path)
    return body


def list_resources(body: ScimObject, path: str) -> list[ScimObject]:
    """A ListResponse's `Resources`: a list of resources (absent or null: none)."""
    items = body.get("Resources")
    if items is None:
        return []
    if not isinstance(items, list):
        raise BadAnswer(f"GET {path}: 'Resources' is a {type(items).__name__}, not a list", method="GET", path=path)
    return [as_resource(item, "GET", path, f"Resources[{i}]") for i, item in enumerate(items)]


_SCOPE: ContextVar[float | None] = ContextVar("scim_deadline_scope", default=None)


@contextlib.contextmanager
def deadline_scope(seconds: float | None) -> Iterator[None]:
    """Every SCIM request made inside (in this thread) finishes by now + `seconds` (monotonic) or is cut
    with `BudgetSpent`; scopes nest (the earlier deadline wins). None: no limit of its own."""
    if seconds is None:
        yield
        return
    outer, mine = _SCOPE.get(), time.monotonic() + max(0.0, seconds)
    token = _SCOPE.set(mine if outer is None else min(outer, mine))
    try:
        yield
    finally:
        _SCOPE.reset(token)


def scope_deadline() -> float | None:
    """The monotonic deadline of the innermost `deadline_scope` of this thread, or None."""
    return _SCOPE.get()


_CAP: ContextVar[float | None] = ContextVar("scim_request_cap", default=None)


@contextlib.contextmanager
def request_cap(seconds: float | None) -> Iterator[None]:
    """Every SCIM request made inside (in this thread) takes at most `seconds` (less than the client's own
    deadline) or is cut with `BudgetSpent`: the time an app's request may hold others up."""
    token = _CAP.set(seconds)
    try:
        yield
    finally:
        _CAP.reset(token)


def request_cap_seconds() -> float | None:
    return _CAP.get()


# ---------------------------------------------------------------- helpers
def escape_filter_value(value: str) -> str:
    """A SCIM filter string literal: JSON-escaped, in double quotes (RFC 7644 §3.4.2.2)."""
    return json.dumps(str(value), ensure_ascii=False)


def eq_filter(attribute: str, value: str) -> str:
    return f"{attribute} eq {escape_filter_value(value)}"


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Retry-After as seconds: delta-seconds or an HTTP-date; None when absent or unreadable."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


@dataclass
class ScimResponse:
    status: int
    body: ScimObject | None
    etag: str | None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Exchange:
    """One request and its outcome, for counting and for the provisioning log."""

    method: str
    path: str
    status: int  # 0: no answer
    elapsed_ms: float
    error: str | None = None
