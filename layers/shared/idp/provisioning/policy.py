"""The one retry policy of provisioning: the per-app circuit breaker and how long a 401/403 parks an app."""
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
