"""The one retry policy of provisioning: when the per-app circuit breaker opens and for how long, how
long a 401/403 parks an app, and the reasons the app status shows for both. The state stores (the
DynamoDB adapter and the in-memory fake) compute with these, so they cannot drift apart."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping

if TYPE_CHECKING:
    from idp.settings import Settings


@dataclass(frozen=True)
class BreakerSettings:
    threshold: int = 5  # transient failures in the window (at least as many as successes) that open the breaker
    base_cooldown: float = 30.0  # first open period; doubles up to max_cooldown
    max_cooldown: float = 600.0
    auth_retry: float = 60.0  # after a 401/403: messages wait this long, then try the (maybe fixed) token again
    window: float = 60.0  # failures and successes are counted over this many seconds (restarted by the first failure after it)

    @classmethod
    def from_settings(cls, settings: Settings) -> BreakerSettings:
        return cls(threshold=settings.scim_breaker_threshold, base_cooldown=settings.scim_breaker_cooldown_seconds,
                   max_cooldown=settings.scim_breaker_max_cooldown_seconds, auth_retry=settings.scim_auth_retry_seconds,
                   window=settings.scim_breaker_window_seconds)

    def cooldown_after(self, failures: int) -> float:
        """Seconds the breaker stays open after `failures` transient failures in a row (0: closed)."""
        return breaker_cooldown(failures, threshold=self.threshold, base_cooldown=self.base_cooldown,
                                max_cooldown=self.max_cooldown)


def breaker_cooldown(failures: int, *, threshold: int, base_cooldown: float, max_cooldown: float) -> float:
    """0 below the threshold; then `base_cooldown`, doubling with every further failure, at most `max_cooldown`."""
    if failures < threshold:
        return 0.0
    return float(min(max_cooldown, base_cooldown * (2 ** min(16, failures - threshold))))


def breaker_opens(failures: int, successes: int, threshold: int) -> bool:
    """Several consumers push at once, so failures interleave with successes: the breaker opens on
    `threshold` failed events in the window when they are at least as many as the requests the SP
    answered there (half of it failing), not on a run of failures other consumers' successes surround."""
    return failures >= threshold and failures >= successes


def breaker_trip(status: Mapping[str, Any], message: str, *, now: float, threshold: int, base_cooldown: float,
                 max_cooldown: float, window: float) -> tuple[float, dict[str, Any]] | None:
    """After a failure was counted into `status` (the app status item as the store now holds it): the
    seconds the breaker opens for and the status changes that open it, or None when it stays closed
    (or a 401/403 holds the app). The cooldown doubles with every failure after it opened (a
    half-open try that fails)."""
    failures, successes = int(status.get("consecutive_failures") or 0), int(status.get("window_successes") or 0)
    if status.get("state") == "auth_failed" or not breaker_opens(failures, successes, threshold):
        return None
    opened_at = int(status.get("opened_at_failures") or failures) if status.get("state") == "failing" else failures
    cooldown = breaker_cooldown(threshold + failures - opened_at, threshold=threshold, base_cooldown=base_cooldown,
                                max_cooldown=max_cooldown)
    return cooldown, {"state": "failing", "open_until": now + cooldown, "opened_at_failures": opened_at,
                      "reason": breaker_reason(failures, message, successes, window)}


def breaker_reason(failures: int, message: str, successes: int = 0, window: float = 60.0) -> str:
    if not successes:
        return f"{failures} transient failures in a row; the last: {message[:300]}"
    return f"{failures} transient failures against {successes} successes in {window:.0f} s; the last: {message[:300]}"


def auth_failure_reason(slug: str, message: str) -> str:
    return (f"the SP refused the SCIM credentials: {message[:500]}. Fix the token or the base URL "
            f"(PUT /admin/apps/{slug}/provisioning); pending changes are kept and pushed once it works.")
