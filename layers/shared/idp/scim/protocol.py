"""SCIM 2.0 as a protocol (RFC 7643/7644), without a transport: schema URNs, the classified
failures a client raises, filter literals, Retry-After, and the value types of one exchange."""
from __future__ import annotations

import email.utils
import json
import time
from dataclasses import dataclass, field

SCIM_JSON = "application/scim+json"
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE_SCHEMA = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"

DEFAULT_TIMEOUT = (5.0, 30.0)  # connect, read (Entra gives an SP 60 s)
MAX_DETAIL = 500


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

    def __init__(self, message: str, delay_seconds: float | None = None, **kw):
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


class AuthError(ScimError):
    """401/403: a configuration problem (token, permissions, base URL), not a data problem."""


class PreconditionFailed(ScimError):
    """412: the If-Match ETag is stale."""


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
    body: dict | None
    etag: str | None
    headers: dict = field(default_factory=dict)


@dataclass
class Exchange:
    """One request and its outcome, for counting and for the provisioning log."""

    method: str
    path: str
    status: int  # 0: no answer
    elapsed_ms: float
    error: str | None = None
