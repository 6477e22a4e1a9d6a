"""Does a SCIM SP hold what the directory says it should, for one app? The directory is read through the
admin API (`expected`), the SP through `ScimServer`'s uncounted reads (`difference`); `wait_until_equal`
polls both until they agree. Shared by tests/e2e/test_provisioning_burst.py and benchmarks/convergence.py.

What "equal" means here, after JumpCloud's rules as the planner has them (`idp.provisioning.planner`):
- a user with access (bound directly or through a bound group) and ACTIVE is in the SP (matched by
  externalId = the directory id), active, with the directory's email as userName, its names and title;
- any other user the SP holds (no access, suspended, deleted in the directory) is inactive or gone;
- a bound group is in the SP under its name with exactly its directory members the SP knows (a group
  with none of them yet need not be there: empty groups are not created);
- a group the SP holds that the directory no longer has is gone (an unbound one is left as it is)."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

from idp.kernel.users import is_active


@dataclass
class Expected:
    """The directory as the SP must mirror it: every user and group by id, the members of each bound
    group, and the app's bindings (users bound directly, groups bound)."""

    users: dict[str, dict]
    groups: dict[str, dict]
    members: dict[str, set[str]]
    direct: set[str] = field(default_factory=set)
    bound_groups: set[str] = field(default_factory=set)

    def has_access(self, uid: str) -> bool:
        return uid in self.direct or any(uid in self.members.get(gid, ()) for gid in self.bound_groups)


def _all(session, url: str, timeout: float = 10) -> list[dict]:
    """Every item of a paged admin API list (`items`, `next_cursor`)."""
    out: list[dict] = []
    params: dict = {"limit": 200}
    while True:
        answer = session.get(url, params=params, timeout=timeout)
        answer.raise_for_status()
        page = answer.json()
        out.extend(page["items"])
        if not page.get("next_cursor"):
            return out
        params = {"limit": 200, "cursor": page["next_cursor"]}


def expected(session, base: str, direct=(), bound_groups=()) -> Expected:
    """What the SP must hold, read back from the directory through the admin API (`session` carries the
    admin token). The admin API lists no bindings, so the caller says which users and groups it bound."""
    users = {u["id"]: u for u in _all(session, f"{base}/admin/users")}
    groups = {g["id"]: g for g in _all(session, f"{base}/admin/groups")}
    # Only a bound group's members decide access and SP membership: the others are not read.
    members = {gid: {m["id"] for m in _all(session, f"{base}/admin/groups/{gid}/members")}
               for gid in bound_groups if gid in groups}
    return Expected(users, groups, members, set(direct), set(bound_groups))


def _user_problem(user: dict, got: dict | None) -> str | None:
    """Why the SP's `got` is not the directory's active, entitled `user` (None when it is)."""
    if got is None:
        return "missing"
    if got.get("active") is False:
        return "inactive"
    name = got.get("name") or {}
    for what, have, want in (("userName", (got.get("userName") or "").lower(), (user.get("email") or "").lower()),
                             ("givenName", name.get("givenName"), user.get("firstname")),
                             ("familyName", name.get("familyName"), user.get("lastname")),
                             ("title", got.get("title"), user.get("title"))):
        if (have or None) != (want or None):
            return f"{what} {have!r}, directory {want!r}"
    return None


def difference(server, exp: Expected) -> str | None:
    """The first way the SP (`ScimServer`) differs from `exp`, or None when it mirrors the directory."""
    sp_users = server.stored("Users")
    by_ext = {u.get("externalId"): u for u in sp_users}
    for uid, user in exp.users.items():
        got = by_ext.get(uid)
        if exp.has_access(uid) and is_active(user):
            problem = _user_problem(user, got)
            if problem:
                return f"user {user['username']} not (yet) right in the SP: {problem}"
        elif got is not None and got.get("active") is not False:
            return f"user {user['username']} has no access (or is not ACTIVE) but is active in the SP"
    for got in sp_users:
        if got.get("externalId") not in exp.users and got.get("active") is not False:
            return f"SP user {got.get('userName')} is not in the directory but is active in the SP"
    listed = server.stored("Groups")
    sp_groups = {g.get("externalId"): g for g in listed if g.get("externalId")}
    for gid in (exp.bound_groups & set(exp.groups)) - set(sp_groups):  # a group taken over keeps its own externalId (or none)
        named = [g for g in listed if g.get("displayName") == exp.groups[gid]["name"]]
        if len(named) == 1:
            sp_groups[gid] = named[0]
    for gid in exp.bound_groups:
        want = {by_ext[uid]["id"] for uid in exp.members.get(gid, ()) if uid in by_ext}
        got = sp_groups.get(gid)
        if gid not in exp.groups:  # bound, then deleted in the directory: the check below wants it gone
            continue
        name = exp.groups[gid]["name"]
        if got is None:
            if want:
                return f"group {name} is not in the SP ({len(want)} members to push)"
            continue
        have = {m["value"] for m in got.get("members") or []}
        if have != want:
            return f"group {name}: SP has {len(have)} members, directory {len(want)} ({len(have ^ want)} differ)"
        if got.get("displayName") != name:
            return f"group {name} is called {got.get('displayName')!r} in the SP"
    gone = [g.get("displayName") for ext, g in sp_groups.items() if ext not in exp.groups]
    if gone:
        return f"groups deleted in the directory still in the SP: {gone[:5]}"
    return None


def wait_until_equal(server, exp: Expected, *, since: float, timeout: float, interval: float = 0.1,
                     clock: Callable[[], float] = time.monotonic,
                     trace: list | None = None) -> tuple[float | None, str | None]:
    """Poll the SP every `interval` seconds until it mirrors `exp`, at most until `since + timeout` (both
    on `clock`, monotonic seconds). Returns (seconds from `since` to the first check that found the SP
    equal, None) or (None, the last difference seen) when the time ran out. `trace`, when given, gets
    (seconds, difference) each time the difference seen changes (None last, when they agree)."""
    problem: str | None = "not checked"
    while True:
        seen, problem = problem, difference(server, exp)
        now = clock()
        if trace is not None and problem != seen:
            trace.append((now - since, problem))
        if problem is None:
            return now - since, None
        if now - since >= timeout:
            return None, problem
        time.sleep(max(0.0, min(interval, since + timeout - now)))
