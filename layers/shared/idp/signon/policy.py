"""The rules of an IdP session and of login throttling, as numbers and pure checks: how long a
session lives (absolute and idle), how often its last use is written back, how long a login form
is good for, how long a browser that signed in is remembered, and how failed logins slow down
further tries (progressive delays, never a hard lock). The state adapter applies them."""
from __future__ import annotations

from dataclasses import dataclass

# The throttle counters (``kind``): an account from one source (an address, or a browser that has
# signed in to that account before), an account from every browser it has never signed in from, and
# one address across accounts (browsers it has not seen sign in). A known browser meets only its own.
SOURCE, ACCOUNT, ADDRESS = "source", "account", "ip"
# Second-factor tries of one user (past the password: the attacker already has it), as strict as SOURCE.
MFA = "mfa"


@dataclass(frozen=True)
class Throttle:
    """One counter as read or just written: failures counted, and seconds until the next try is allowed."""

    failures: int
    wait: int


@dataclass(frozen=True)
class SignonPolicy:
    session_lifetime: int = 8 * 3600  # absolute lifetime of an IdP session
    session_idle: int = 3600  # idle timeout
    touch_every: int = 60  # refresh last_seen at most this often
    login_state_ttl: int = 15 * 60  # a login form is good for this long
    replay_ttl: int = 15 * 60  # > the ±5 min IssueInstant window on both sides
    source_max_failures: int = 5  # failures of one account from one source before the first delay
    account_max_failures: int = 20  # ... of one account from unknown browsers anywhere
    ip_max_failures: int = 50  # ... from one address, unknown browsers, any account
    first_delay: int = 30  # the first delay; each further failure doubles it
    max_delay: int = 15 * 60  # the longest delay (0: no throttling)
    failure_window: int = 3600  # a counter is forgotten this long after its last failure (once its delay is over)
    device_lifetime: int = 180 * 86400  # a browser that signed in is remembered this long after its last sign-in
    reauth_window: int = 300  # a factor change on /account needs the password typed within this long

    @classmethod
    def from_settings(cls, settings) -> "SignonPolicy":
        return cls(
            session_lifetime=settings.idp_session_lifetime_seconds,
            session_idle=settings.idp_session_idle_seconds,
            login_state_ttl=settings.idp_login_state_seconds,
            source_max_failures=settings.idp_login_user_max_failures,
            account_max_failures=settings.idp_login_account_max_failures,
            ip_max_failures=settings.idp_login_ip_max_failures,
            failure_window=settings.idp_login_failure_window_seconds,
            max_delay=settings.idp_login_lockout_seconds,
            reauth_window=settings.idp_reauth_seconds,
        )

    def session_alive(self, *, absolute_expiry: int, last_seen: int, now: int) -> bool:
        """A session counts until its absolute expiry, and while it was used within the idle timeout."""
        return now < absolute_expiry and now - last_seen < self.session_idle

    def session_expiry(self, *, absolute_expiry: int, now: int) -> int:
        """When an unused session dies if it is used now: idle timeout, capped by the absolute expiry."""
        return min(now + self.session_idle, absolute_expiry)

    def password_recent(self, password_at: int | None, now: int) -> bool:
        """The password was typed within the re-authentication window (None: not in this session at all)."""
        return password_at is not None and now - password_at <= self.reauth_window

    def needs_touch(self, *, last_seen: int, now: int) -> bool:
        return now - last_seen >= self.touch_every

    def max_failures(self, kind: str) -> int:
        """Failures a counter of ``kind`` (SOURCE, ACCOUNT or ADDRESS) takes before it delays the next try."""
        return {SOURCE: self.source_max_failures, MFA: self.source_max_failures,
                ACCOUNT: self.account_max_failures}.get(kind, self.ip_max_failures)

    def delay_after(self, kind: str, failures: int) -> int:
        """Seconds the next try waits after the ``failures``-th failure: none below the limit, then
        ``first_delay`` doubling with each further failure, at most ``max_delay``."""
        over = failures - self.max_failures(kind)
        if over < 0 or self.max_delay <= 0:
            return 0
        return min(self.first_delay * 2 ** min(over, 30), self.max_delay)
