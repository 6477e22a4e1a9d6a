"""What sign-on needs from outside itself, as Protocols: the directory (find an account by its login
name, check its password, read the user, the access rule), the store of its own state (sessions and
the per-user session epoch, login state, replay cache, throttle counters) and the failed-login metric.
The composition root wires the real ones."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from idp.signon.policy import SignonPolicy, Throttle


@dataclass(frozen=True)
class Account:
    """A directory user as a login sees it before the password: the id and the stored password hash."""

    uid: str
    password_hash: str | None


class SignonDirectory(Protocol):
    def find_account(self, login_name: str) -> Account | None:
        """The user whose username or email (one namespace, case-insensitive) is ``login_name``; None when there is none."""

    def verify_password(self, password_hash: str | None, password: str) -> bool:
        """True when ``password`` matches; spends one hash verification even without a hash (timing tells nothing)."""

    def get_user(self, uid: str) -> dict | None:
        """The user's public fields (no password hash), or None when the user is gone."""

    def may_use(self, slug: str, uid: str) -> bool:
        """The access rule: bound to the app directly or through a group."""


class SignonStore(Protocol):
    policy: SignonPolicy

    def seen_request(self, slug: str, request_id: str) -> bool:
        """Check-and-mark: True when this request ID was already used for this app."""

    def new_login(self, pending: dict | None = None) -> tuple[str, dict]:
        """A new login state: (login id, item with its ``csrf`` and ``pending``)."""

    def get_login(self, lid: str | None) -> dict | None: ...

    def advance_login(self, lid: str, uid: str, amr: list[str], password_at: int | None = None) -> None:
        """The login is past its password: it names the user, how they signed in so far and when the password
        was typed (None: not in this sign-in)."""

    def delete_login(self, lid: str | None) -> None: ...

    def create_session(self, uid: str, amr: list[str] | None = None, *,
                       ending: tuple[str | None, str | None] = (None, None), password_at: int | None = None) -> tuple[str, dict]:
        """A fresh session under a new random id, stamped with the user's current session epoch, how the user
        signed in (``amr``, default a password) and when the password was last typed (``password_at``, item
        ``pwd_at``): (session id, item). ``ending``: the login state it uses up and the browser's old session,
        gone with the same write."""

    def get_session(self, sid: str | None, touch: bool = True) -> dict | None:
        """The live session item; the idle refresh never brings back one deleted meanwhile."""

    def delete_session(self, sid: str | None) -> None: ...

    def session_epoch(self, uid: str) -> int:
        """The user's session epoch: a session counts only while it carries the current one."""

    def end_sessions(self, uid: str) -> int:
        """Move the user's session epoch on (every session of the user ends); returns the new epoch."""

    def throttle(self, kind: str, key: str) -> Throttle:
        """A throttle counter as it stands (failures, seconds left to wait)."""

    def record_failure(self, kind: str, key: str) -> Throttle:
        """Count a failed login on a counter, delaying the next try as the policy says."""

    def clear_failures(self, kind: str, key: str) -> None: ...


class LoginMetricsSink(Protocol):
    def login_failure(self, reason: str) -> None:
        """One failed login (``wrong_credentials`` or ``throttled``)."""
