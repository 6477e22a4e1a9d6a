"""What sign-on needs from outside itself, as Protocols: the directory (find an account by username
or email, check its password, read the user, the access rule) and the store of its own state
(sessions, login state, replay cache, failure counters). The composition root wires the real ones."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from idp.signon.policy import SignonPolicy


@dataclass(frozen=True)
class Account:
    """A directory user as a login sees it before the password: the id and the stored password hash."""

    uid: str
    password_hash: str | None


class SignonDirectory(Protocol):
    def find_account(self, field: str, value: str) -> Account | None:
        """The user whose ``field`` (``username`` or ``email``, case-insensitive) is ``value``; None when there is none."""

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

    def delete_login(self, lid: str | None) -> None: ...

    def create_session(self, uid: str) -> tuple[str, dict]:
        """A fresh session under a new random id: (session id, item)."""

    def get_session(self, sid: str | None, touch: bool = True) -> dict | None: ...

    def delete_session(self, sid: str | None) -> None: ...

    def locked_for(self, kind: str, key: str) -> int:
        """Seconds left of a lockout of ``kind`` (``user``/``ip``) ``key``; 0 when free."""

    def record_failure(self, kind: str, key: str) -> int:
        """Count a failed login (locking at the policy's limit); returns the count in the window."""

    def clear_failures(self, kind: str, key: str) -> None: ...
