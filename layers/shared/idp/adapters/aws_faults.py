"""Which failures are AWS being unavailable (throttling, a 5xx, no answer, the request's deadline spent),
and how long a client should wait before trying again: the web answers those with a 503 and Retry-After
(contract section 13), never a 500. `idp.adapters` teaches `idp.kernel.faults.retry_after` this classification
when it is imported, so the web asks the kernel."""
from __future__ import annotations

from idp.kernel.faults import OUTAGE_RETRY_SECONDS, ServiceUnavailable

THROTTLED = frozenset({
    "ProvisionedThroughputExceededException", "ThrottlingException", "Throttling", "RequestLimitExceeded",
    "TooManyRequestsException", "RequestThrottled", "RequestThrottledException", "LimitExceededException",
    "SlowDown", "KMSThrottlingException", "TransactionInProgressException",
})
UNAVAILABLE = frozenset({
    "InternalServerError", "InternalFailure", "InternalError", "ServiceUnavailable", "ServiceUnavailableException",
    "ServiceUnavailableError", "InternalServiceError",
})
THROTTLE_RETRY_SECONDS = 2
__all__ = ["OUTAGE_RETRY_SECONDS", "THROTTLE_RETRY_SECONDS", "retry_after"]


def retry_after(exc: BaseException, _depth: int = 0) -> int | None:
    """Seconds a client should wait when `exc` (or what it was raised from) is AWS throttling or unavailable;
    None for anything else. (botocore is imported here, not at module level: the login function's pages
    import this module, and its cold start does not pay for botocore before a request needs it.)"""
    from botocore.exceptions import BotoCoreError, ClientError

    if isinstance(exc, ServiceUnavailable):  # the request's deadline spent (idp.kernel.faults.DeadlineSpent)
        return exc.retry_after
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {}) or {}
        code = str(error.get("Code", ""))
        status = int((exc.response.get("ResponseMetadata") or {}).get("HTTPStatusCode") or 0)
        if code in THROTTLED:
            return THROTTLE_RETRY_SECONDS
        if code == "TransactionCanceledException":
            reasons = [str(r.get("Code", "")) for r in exc.response.get("CancellationReasons", []) or []]
            if any(r in ("ThrottlingError", "TransactionConflict") for r in reasons):
                return THROTTLE_RETRY_SECONDS
            return None
        if code in UNAVAILABLE or status >= 500:
            return OUTAGE_RETRY_SECONDS
        return None
    if isinstance(exc, BotoCoreError):  # no answer: connection refused or reset, timeouts
        return OUTAGE_RETRY_SECONDS
    cause = exc.__cause__ or exc.__context__
    return retry_after(cause, _depth + 1) if cause is not None and cause is not exc and _depth < 5 else None
