"""The rules of an IdP session and of login throttling, as numbers and pure checks: how long a
session lives (absolute and idle), how often its last use is written back, how long a login form
is good for, and how many failures lock a username or an address. The state adapter applies them."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SignonPolicy:
    session_lifetime: int = 8 * 3600  # absolute lifetime of an IdP session
    session_idle: int = 3600  # idle timeout
    touch_every: int = 60  # refresh last_seen at most this often
    login_state_ttl: int = 15 * 60  # a login form is good for this long
    replay_ttl: int = 15 * 60  # > the ±5 min IssueInstant window on both sides
    user_max_failures: int = 5
    ip_max_failures: int = 50
    failure_window: int = 15 * 60
    lockout: int = 15 * 60

    @classmethod
    def from_settings(cls, settings) -> "SignonPolicy":
        return cls(
            session_lifetime=settings.idp_session_lifetime_seconds,
            session_idle=settings.idp_session_idle_seconds,
            login_state_ttl=settings.idp_login_state_seconds,
            user_max_failures=settings.idp_login_user_max_failures,
            ip_max_failures=settings.idp_login_ip_max_failures,
            failure_window=settings.idp_login_failure_window_seconds,
            lockout=settings.idp_login_lockout_seconds,
        )

    def session_alive(self, *, absolute_expiry: int, last_seen: int, now: int) -> bool:
        """A session counts until its absolute expiry, and while it was used within the idle timeout."""
        return now < absolute_expiry and now - last_seen < self.session_idle

    def session_expiry(self, *, absolute_expiry: int, now: int) -> int:
        """When an unused session dies if it is used now: idle timeout, capped by the absolute expiry."""
        return min(now + self.session_idle, absolute_expiry)

    def needs_touch(self, *, last_seen: int, now: int) -> bool:
        return now - last_seen >= self.touch_every

    def max_failures(self, kind: str) -> int:
        """Failed logins within the window that lock a ``user`` (a login name) or an ``ip`` (an address)."""
        return self.user_max_failures if kind == "user" else self.ip_max_failures
