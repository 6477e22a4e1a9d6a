"""An in-memory directory (the provisioning DirectoryPort) and a token source, for tests and benchmarks."""
from __future__ import annotations

import itertools
import json
import threading
from pathlib import Path

TABLE = "prov-test-table"
ROOT = Path(__file__).resolve().parents[2]


# ---------------------------------------------------------------- directory
class FakeDirectory:
    """The DirectoryPort in memory, with helpers to change it."""

    def __init__(self):
        self.users: dict[str, dict] = {}
        self.groups: dict[str, dict] = {}
        self.members: dict[str, set[str]] = {}
        self.apps: dict[str, dict] = {}
        self.user_binds: dict[str, set[str]] = {}
        self.group_binds: dict[str, set[str]] = {}
        self._n = itertools.count(1)
        self.lock = threading.Lock()

    # port
    def get_user(self, uid): return dict(self.users[uid]) if uid in self.users else None
    def get_group(self, gid): return dict(self.groups[gid]) if gid in self.groups else None
    def list_members(self, gid): return sorted(self.members.get(gid, ()))
    def groups_of_user(self, uid): return sorted(g for g, ms in self.members.items() if uid in ms)
    def user_record(self, uid): return self.get_user(uid), self.apps_of_user(uid), self.groups_of_user(uid)
    def get_app(self, slug): return json.loads(json.dumps(self.apps[slug])) if slug in self.apps else None
    def all_app_slugs(self): return sorted(self.apps)
    def app_user_bindings(self, slug): return sorted(self.user_binds.get(slug, ()))
    def app_group_bindings(self, slug): return sorted(self.group_binds.get(slug, ()))
    def apps_of_user(self, uid): return sorted(s for s, us in self.user_binds.items() if uid in us)
    def apps_of_group(self, gid): return sorted(s for s, gs in self.group_binds.items() if gid in gs)

    # helpers
    def add_user(self, uid: str | None = None, **fields) -> str:
        uid = uid or f"u{next(self._n):04d}"
        first = fields.pop("firstname", f"First{uid}")
        last = fields.pop("lastname", f"Last{uid}")
        email = fields.pop("email", f"{uid}@example.com")
        self.users[uid] = {"id": uid, "username": fields.pop("username", uid), "email": email, "firstname": first,
                           "lastname": last, "state": fields.pop("state", "ACTIVE"), **fields}
        return uid

    def update_user(self, uid: str, **fields) -> None:
        self.users[uid].update(fields)

    def delete_user(self, uid: str) -> None:
        self.users.pop(uid)
        for ms in self.members.values():
            ms.discard(uid)
        for us in self.user_binds.values():
            us.discard(uid)

    def add_group(self, name: str, gid: str | None = None) -> str:
        gid = gid or f"g{next(self._n):04d}"
        self.groups[gid] = {"id": gid, "name": name, "description": ""}
        self.members[gid] = set()
        return gid

    def delete_group(self, gid: str) -> None:
        self.groups.pop(gid)
        self.members.pop(gid, None)
        for gs in self.group_binds.values():
            gs.discard(gid)

    def add_app(self, slug: str, base_url: str, **prov) -> None:
        self.apps[slug] = {"slug": slug, "label": slug,
                           "provisioning": {"base_url": base_url, "enabled": True, "group_management": False, **prov}}

    def set_prov(self, slug: str, **prov) -> None:
        self.apps[slug]["provisioning"].update(prov)

    def bind_user(self, slug, uid): self.user_binds.setdefault(slug, set()).add(uid)
    def unbind_user(self, slug, uid): self.user_binds.setdefault(slug, set()).discard(uid)
    def bind_group(self, slug, gid): self.group_binds.setdefault(slug, set()).add(gid)
    def unbind_group(self, slug, gid): self.group_binds.setdefault(slug, set()).discard(gid)


class Tokens:
    """A TokenSource: slug → token, counting fresh reads."""

    def __init__(self, **tokens):
        self.tokens = dict(tokens)
        self.fresh_reads = 0

    def __call__(self, slug: str, fresh: bool = False):
        if fresh:
            self.fresh_reads += 1
        return self.tokens.get(slug)


