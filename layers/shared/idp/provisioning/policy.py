"""The one retry policy of provisioning: when the per-app circuit breaker opens and for how long, how
long a 401/403 parks an app, and the reasons the app status shows for both. The state stores (the
DynamoDB adapter and the in-memory fake) compute with these, so they cannot drift apart."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BreakerSettings:
    threshold: int = 5  # transient failures in a row that open the breaker
    base_cooldown: float = 30.0  # first open period; doubles up to max_cooldown
    max_cooldown: float = 600.0
    auth_retry: float = 60.0  # after a 401/403: messages wait this long, then try the (maybe fixed) token again

    @classmethod
    def from_settings(cls, settings) -> "BreakerSettings":
        return cls(threshold=settings.scim_breaker_threshold, base_cooldown=settings.scim_breaker_cooldown_seconds,
                   max_cooldown=settings.scim_breaker_max_cooldown_seconds, auth_retry=settings.scim_auth_retry_seconds)

    def cooldown_after(self, failures: int) -> float:
        """Seconds the breaker stays open after `failures` transient failures in a row (0: closed)."""
        return breaker_cooldown(failures, threshold=self.threshold, base_cooldown=self.base_cooldown,
                                max_cooldown=self.max_cooldown)


def breaker_cooldown(failures: int, *, threshold: int, base_cooldown: float, max_cooldown: float) -> float:
    """0 below the threshold; then `base_cooldown`, doubling with every further failure, at most `max_cooldown`."""
    if failures < threshold:
        return 0.0
    return min(max_cooldown, base_cooldown * (2 ** min(16, failures - threshold)))


def breaker_reason(failures: int, message: str) -> str:
    return f"{failures} transient failures in a row; the last: {message[:300]}"


def auth_failure_reason(slug: str, message: str) -> str:
    return (f"the SP refused the SCIM credentials: {message[:500]}. Fix the token or the base URL "
            f"(PUT /admin/apps/{slug}/provisioning); pending changes are kept and pushed once it works.")
