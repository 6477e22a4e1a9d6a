"""One classification of provisioning failures, and one place that records them.

Every failure is one of four classes, decided once here (`classify`) from the classified SCIM error
(`idp.scim.protocol`) or, for anything else an SP's answer made us raise, as permanent:
- `transient`: 5xx, 408, 412, timeouts, resets, an answer cut short, a create claim held elsewhere: try
  again with backoff; counted by the app's circuit breaker;
- `throttled`: 429: the SP pacing us, not failing; never counted by the breaker;
- `auth`: 401/403: the configuration (token, base URL), not the data; the app waits for a fix;
- `permanent`: other 4xx and unreadable answers: the same request will not succeed; a person looks.

`entity_failed` is the per-user / per-group bookkeeping (the mapping item's status and the
provisioning-log line) that user and group sync share; `AppOutcomes` is the per-app bookkeeping (the
breaker and the app status) that the dispatcher, the reconciler and the admin routes share."""
from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING

from aws_lambda_powertools import Logger

from idp.provisioning.claims import Busy
from idp.provisioning.parallel import BreakerOpen, SyncStopped
from idp.provisioning.ports import STATUS_FAILED, STATUS_PENDING, ClaimLost, MappingStore, ProvisioningLog
from idp.provisioning.run import Run, ids, record
from idp.scim.protocol import AuthError, BadAnswer, BudgetSpent, PreconditionFailed, RetryLater, ScimError

if TYPE_CHECKING:
    from idp.provisioning.engine import Engine
    from idp.provisioning.metrics import ProvisioningMetrics
    from idp.provisioning.policy import BreakerSettings

log = Logger(child=True)


class FailureClass(str, Enum):
    TRANSIENT = "transient"
    THROTTLED = "throttled"
    AUTH = "auth"
    PERMANENT = "permanent"

    @property
    def retried(self) -> bool:
        """Will the same work succeed later without anyone changing anything?"""
        return self in (FailureClass.TRANSIENT, FailureClass.THROTTLED)


def classify(exc: BaseException) -> FailureClass:
    if isinstance(exc, AuthError):
        return FailureClass.AUTH
    if isinstance(exc, RetryLater):
        return FailureClass.THROTTLED if exc.status == 429 else FailureClass.TRANSIENT
    if isinstance(exc, PreconditionFailed):
        return FailureClass.TRANSIENT  # a stale ETag: read again and retry
    return FailureClass.PERMANENT  # PermanentError, Conflict, NotFound, PreconditionFailed, an unreadable answer


# What the provisioning log says of an entity's failed push, per class.
LOG_OUTCOME = {FailureClass.TRANSIENT: "retry", FailureClass.THROTTLED: "retry", FailureClass.AUTH: "auth_failed",
               FailureClass.PERMANENT: "failed"}


def entity_failed(maps: MappingStore, plog: ProvisioningLog, run: Run, kind: str, eid: str, exc: ScimError) -> FailureClass:
    """A user's or group's push failed: its mapping item says pending (retried) or failed (needs a
    person), except after a 401/403, which is the app's problem and leaves the item as it was; the
    provisioning log gets one line with what was sent and what the SP answered."""
    cls = classify(exc)
    if cls is not FailureClass.AUTH:
        try:
            maps.set_status(run.slug, kind, eid, STATUS_PENDING if cls.retried else STATUS_FAILED, exc.message)
        except Exception:  # the status write never hides the SP's failure
            log.exception("status write failed", extra=ids(run.slug, kind, eid))
    record(plog, run, kind, eid, exc.method or "push", LOG_OUTCOME[cls],
           request={"method": exc.method, "path": exc.path} if exc.method else None,
           status=exc.status or None, message=exc.message)
    return cls


class AppOutcomes:
    """The one record of an app's failed work, for the dispatcher, the reconciler and the admin routes:
    what the app status and its breaker say after it, by class.
    - auth: the app waits for a fixed token (`note_auth_failure`), the token is read afresh next time;
    - transient: counted by the breaker, except where the SP did nothing wrong (another consumer's
      claim, the caller's own time budget, a run stopped by its breaker or by another worker's failure);
    - throttled: the SP pacing us: not counted;
    - permanent: an unusable answer (or work that broke on one) is the SP's fault and counted by the
      breaker, so the status turns `failing` and names it; a refusal of one request (400, 404, 409)
      is the last error, the app stays `ok`."""

    def __init__(self, engine: Engine, breaker: BreakerSettings, metrics: ProvisioningMetrics | None = None) -> None:
        self.engine, self.status, self.breaker, self.metrics = engine, engine.stores.status, breaker, metrics

    def failed(self, slug: str, exc: BaseException) -> FailureClass:
        cls = classify(exc)
        message = getattr(exc, "message", None) or f"{type(exc).__name__}: {str(exc)[:300]}"
        try:
            if cls is FailureClass.AUTH:
                self.engine.credentials_failed(slug)
                self.status.note_auth_failure(slug, message, self.breaker.auth_retry)
            elif cls is FailureClass.TRANSIENT and not isinstance(exc, (Busy, BudgetSpent, ClaimLost, BreakerOpen, SyncStopped)):
                self._count(slug, message)
            elif cls is FailureClass.PERMANENT and (isinstance(exc, BadAnswer) or not isinstance(exc, ScimError)):
                self._count(slug, message)
            elif cls is FailureClass.PERMANENT:
                self.status.note_permanent_failure(slug, message)
        except Exception:  # the status write must not hide the failure itself
            log.exception("noting the failure of %s failed", slug, extra={"app": slug})
        if self.metrics:
            (self.metrics.retry if cls.retried else self.metrics.failure)(slug)
        return cls

    def _count(self, slug: str, message: str) -> None:
        b = self.breaker
        self.status.note_transient_failure(slug, message, threshold=b.threshold, base_cooldown=b.base_cooldown,
                                          max_cooldown=b.max_cooldown, window=b.window)
