"""In-memory fakes of sign-on's ports (idp.signon.ports): a directory, a state store that applies the
policy's progressive delays on an injectable clock, and a metrics sink."""
from __future__ import annotations

import itertools

from idp.kernel.tokens import new_token
from idp.signon.policy import SignonPolicy, Throttle
from idp.signon.ports import Account


class FakeDirectory:
    def __init__(self):
        self.users: dict[str, dict] = {}
        self.passwords: dict[str, str] = {}
        self.bindings: set[tuple[str, str]] = set()
        self.verified: list[str | None] = []  # the hashes verify_password was asked about
        self.lookups: list[str] = []

    def add(self, uid: str, username: str, email: str, password: str | None = "pw", **fields) -> dict:
        self.users[uid] = {"id": uid, "username": username, "email": email, "state": "ACTIVE", **fields}
        if password is not None:
            self.passwords[uid] = f"hash:{password}"
        return self.users[uid]

    def find_account(self, login_name):
        self.lookups.append(login_name)
        for uid, user in self.users.items():
            if login_name.lower() in (user["username"].lower(), user["email"].lower()):
                return Account(uid, self.passwords.get(uid))
        return None

    def verify_password(self, password_hash, password):
        self.verified.append(password_hash)
        return password_hash is not None and password_hash == f"hash:{password}"

    def get_user(self, uid):
        return dict(self.users[uid]) if uid in self.users else None

    def may_use(self, slug, uid):
        return (slug, uid) in self.bindings


class Clock:
    def __init__(self, t: float = 1_900_000_000):
        self.t = t

    def __call__(self) -> float:
        return self.t


class FakeStore:
    def __init__(self, policy: SignonPolicy | None = None, clock: Clock | None = None):
        self.policy = policy or SignonPolicy()
        self.clock = clock or Clock()
        self.logins: dict[str, dict] = {}
        self.sessions: dict[str, dict] = {}
        self.seen: set[tuple[str, str]] = set()
        self.throttles: dict[tuple[str, str], dict] = {}  # (kind, key) -> failures, last, wait_until
        self.epochs: dict[str, int] = {}
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

    def advance_login(self, lid, uid, amr, password_at=None):
        self.logins[lid].update(uid=uid, amr=list(amr), epoch=self.epochs.get(uid, 0),
                                **({"pwd_at": password_at} if password_at is not None else {}))

    def create_session(self, uid, amr=None, *, ending=(None, None), password_at=None):
        self.delete_login(ending[0])
        self.delete_session(ending[1])
        sid = new_token()
        n = next(self._n)
        self.sessions[sid] = {"uid": uid, "session_index": f"_s{n}", "csrf": f"csrf{n}", "auth_instant": 1_900_000_000,
                              "absolute_expiry": 1_900_028_800, "epoch": self.epochs.get(uid, 0), "amr": list(amr or ["pwd"]),
                              **({"pwd_at": password_at} if password_at is not None else {})}
        return sid, dict(self.sessions[sid])

    def get_session(self, sid, touch=True):
        return dict(self.sessions[sid]) if sid in self.sessions else None

    def delete_session(self, sid):
        self.sessions.pop(sid, None)

    def session_epoch(self, uid):
        return self.epochs.get(uid, 0)

    def end_sessions(self, uid):
        self.epochs[uid] = self.epochs.get(uid, 0) + 1
        return self.epochs[uid]

    # ---------------------------------------------------------------- throttling, as the policy says
    def _live(self, kind, key):
        item = self.throttles.get((kind, key))
        now = self.clock()
        if item and max(item["last"], item["wait_until"]) + self.policy.failure_window <= now:  # as SignonState forgets
            del self.throttles[(kind, key)]
            return None
        return item

    def throttle(self, kind, key):
        item = self._live(kind, key)
        if not item:
            return Throttle(0, 0)
        return Throttle(item["failures"], max(0, int(item["wait_until"] - self.clock())))

    def record_failure(self, kind, key):
        now = self.clock()
        item = self._live(kind, key) or {"failures": 0, "last": now, "wait_until": now}
        item["failures"] += 1
        item["last"] = now
        item["wait_until"] = max(item["wait_until"], now + self.policy.delay_after(kind, item["failures"]))
        self.throttles[(kind, key)] = item
        return Throttle(item["failures"], max(0, int(item["wait_until"] - now)))

    def clear_failures(self, kind, key):
        self.throttles.pop((kind, key), None)

    def failures(self) -> dict[tuple[str, str], int]:
        return {k: v["failures"] for k, v in self.throttles.items()}


class FakeMetrics:
    def __init__(self):
        self.failures: list[str] = []

    def login_failure(self, reason: str) -> None:
        self.failures.append(reason)
