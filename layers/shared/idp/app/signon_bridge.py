"""The two domain contexts that meet at sign-in, each seeing the other through its own port: sign-on sees the
directory as `idp.signon.ports.SignonDirectory` (an account by login name, the password check, the user, the access
rule), and the directory tells sign-on what changed through `idp.directory.ports.SignonHooks` (a password set, every
session of a user to end). Neither context may import the other; the application layer may import both, so the
bridges live here and the composition root only builds them."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from idp.directory.access import may_use
from idp.directory.passwords import verify_password
from idp.directory.ports import DirectoryRepository
from idp.signon.ports import Account


class SignonDirectory:
    """The directory as sign-on sees it (idp.signon.ports.SignonDirectory), over the directory's store."""

    def __init__(self, store: DirectoryRepository):
        self.store = store

    def find_account(self, login_name: str) -> Account | None:
        uid = self.store.find_user_id("username", login_name)  # usernames and emails: one namespace
        item = self.store.get_user_item(uid) if uid else None
        return Account(uid, item.get("password_hash")) if uid and item else None

    def verify_password(self, password_hash: str | None, password: str) -> bool:
        return verify_password(password_hash, password)

    def get_user(self, uid: str) -> dict[str, Any] | None:
        return self.store.get_user(uid)

    def may_use(self, slug: str, uid: str) -> bool:
        return may_use(self.store, slug, uid)


class SignonHooks:
    """What sign-on hears from the directory (idp.directory.ports.SignonHooks). `keys_needed` makes sure the keys a
    password login needs exist (the device cookies' key, the MFA seed key: the login function may not create them);
    `end_sessions` ends every session of a user. Both are called only when the directory calls, so the sign-on parts
    are built on first use."""

    def __init__(self, keys_needed: Callable[[], None], end_sessions: Callable[[str, str], None]):
        self._keys_needed, self._end_sessions = keys_needed, end_sessions

    def password_set(self, uid: str) -> None:
        self._keys_needed()  # password logins are about to happen: their device cookies and enrolments need the keys

    def end_sessions(self, uid: str, reason: str) -> None:
        self._end_sessions(uid, reason)
