"""In-memory fakes of sign-on's two ports (idp.signon.ports): a directory and a state store."""
from __future__ import annotations

import itertools

from idp.kernel.tokens import new_token
from idp.signon.policy import SignonPolicy
from idp.signon.ports import Account


class FakeDirectory:
    def __init__(self):
        self.users: dict[str, dict] = {}
        self.passwords: dict[str, str] = {}
        self.bindings: set[tuple[str, str]] = set()
        self.verified: list[str | None] = []  # the hashes verify_password was asked about
        self.lookups: list[tuple[str, str]] = []

    def add(self, uid: str, username: str, email: str, password: str | None = "pw", **fields) -> dict:
        self.users[uid] = {"id": uid, "username": username, "email": email, "state": "ACTIVE", **fields}
        if password is not None:
            self.passwords[uid] = f"hash:{password}"
        return self.users[uid]

    def find_account(self, field, value):
        self.lookups.append((field, value))
        for uid, user in self.users.items():
            if user[field].lower() == value.lower():
                return Account(uid, self.passwords.get(uid))
        return None

    def verify_password(self, password_hash, password):
        self.verified.append(password_hash)
        return password_hash is not None and password_hash == f"hash:{password}"

    def get_user(self, uid):
        return dict(self.users[uid]) if uid in self.users else None

    def may_use(self, slug, uid):
        return (slug, uid) in self.bindings


class FakeStore:
    def __init__(self, policy: SignonPolicy | None = None):
        self.policy = policy or SignonPolicy()
        self.logins: dict[str, dict] = {}
        self.sessions: dict[str, dict] = {}
        self.seen: set[tuple[str, str]] = set()
        self.failures: dict[tuple[str, str], int] = {}
        self.locked: dict[tuple[str, str], int] = {}
        self._n = itertools.count(1)

    def seen_request(self, slug, request_id):
        hit = (slug, request_id) in self.seen
        self.seen.add((slug, request_id))
        return hit

    def new_login(self, pending=None):
        lid = new_token()
        self.logins[lid] = {"csrf": new_token(), **({"pending": dict(pending)} if pending else {})}
        return lid, dict(self.logins[lid])

    def get_login(self, lid):
        return dict(self.logins[lid]) if lid in self.logins else None

    def delete_login(self, lid):
        self.logins.pop(lid, None)

    def create_session(self, uid):
        sid = new_token()
        n = next(self._n)
        self.sessions[sid] = {"uid": uid, "session_index": f"_s{n}", "csrf": f"csrf{n}", "auth_instant": 1_900_000_000,
                              "absolute_expiry": 1_900_028_800}
        return sid, dict(self.sessions[sid])

    def get_session(self, sid, touch=True):
        return dict(self.sessions[sid]) if sid in self.sessions else None

    def delete_session(self, sid):
        self.sessions.pop(sid, None)

    def locked_for(self, kind, key):
        return self.locked.get((kind, key), 0)

    def record_failure(self, kind, key):
        self.failures[(kind, key)] = self.failures.get((kind, key), 0) + 1
        return self.failures[(kind, key)]

    def clear_failures(self, kind, key):
        self.failures.pop((kind, key), None)
