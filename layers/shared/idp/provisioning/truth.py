"""What is true of an app's provisioning: the state the SP was last given (the mapping items: the
pushed attributes and `active`, a group's pushed member set and name) against what the directory
wants now. An entity is `in_sync` only when the two are equal, `failed` when its last push failed
for good, and `pending` otherwise: a push not yet made or not yet finished, a member not yet added,
a user bound but never pushed, whatever the last call answered. Pure: the caller reads the items and
hands over a directory view (`CachedDirectory`)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from idp.provisioning.planner import ProvisioningConfig, plan_user
from idp.provisioning.ports import IN_SYNC, STATUS_FAILED
from idp.provisioning.run import CachedDirectory
from idp.scim import mapping as mp

if TYPE_CHECKING:
    from idp.provisioning.engine import Engine

MAX_DRIFT = 20  # entities named in the answer (the counts cover all)


@dataclass
class Tally:
    in_sync: int = 0
    pending: int = 0
    failed: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"in_sync": self.in_sync, "pending": self.pending, "failed": self.failed}


@dataclass
class Truth:
    users: Tally = field(default_factory=Tally)
    groups: Tally = field(default_factory=Tally)
    drift: list[dict[str, Any]] = field(default_factory=list)

    def pending(self, tally: Tally, kind: str, eid: str, reason: str) -> None:
        tally.pending += 1
        if len(self.drift) < MAX_DRIFT:
            self.drift.append({"kind": kind, "id": eid, "reason": reason})


def user_desired(cfg: ProvisioningConfig, d: CachedDirectory, uid: str, item: dict[str, Any] | None, bound: bool) -> dict[str, Any] | None:
    """The state the SP should hold for this user now (`bound`: directly or through a bound group); None
    when it should hold nothing (or delete it)."""
    user = d.get_user(uid)
    provisioned = bool(item and item.get("scim_id"))
    plan = plan_user(user, user is not None and bound, provisioned, cfg.deprovision)
    if plan.action in ("none", "delete"):
        return None
    if user is None:
        return {**((item or {}).get("pushed") or {}), "active": False}
    return mp.desired_user_state(user, cfg.attribute_mapping, active=plan.action == "active")


def assess(cfg: ProvisioningConfig, d: CachedDirectory, umaps: dict[str, dict[str, Any]], gmaps: dict[str, dict[str, Any]]) -> Truth:
    """Count every mapped user and group, and every bound one the SP should hold but has no item for."""
    truth = Truth()
    slug = cfg.slug
    wanted_users: set[str] = set(d.app_user_bindings(slug))
    bound_groups = set(d.app_group_bindings(slug))
    for gid in bound_groups:
        wanted_users.update(d.list_members(gid))
    for uid in sorted(set(umaps) | wanted_users):
        _assess_user(truth, cfg, d, uid, umaps.get(uid), uid in wanted_users)
    if cfg.group_management:
        for gid in sorted(set(gmaps) | bound_groups):
            _assess_group(truth, cfg, d, gid, gmaps.get(gid), umaps, gid in bound_groups)
    return truth


def _assess_user(truth: Truth, cfg: ProvisioningConfig, d: CachedDirectory, uid: str, item: dict[str, Any] | None,
                 bound: bool) -> None:
    tally = truth.users
    if item and item.get("status") == STATUS_FAILED:
        tally.failed += 1
        return
    desired = user_desired(cfg, d, uid, item, bound)
    provisioned = bool(item and item.get("scim_id"))
    if desired is None:
        if provisioned and d.get_user(uid) is None and cfg.deprovision == "delete":
            truth.pending(tally, "user", uid, "deleted in the directory, not yet deleted in the SP")
        elif item is None or not provisioned:
            return  # nothing in the SP and nothing wanted there: not counted
        else:
            tally.in_sync += 1
        return
    if not provisioned or item is None:
        if desired.get("active", True):
            truth.pending(tally, "user", uid, "bound and active, not yet in the SP")
        return
    if item.get("status") not in IN_SYNC:
        truth.pending(tally, "user", uid, f"last push {item.get('status')}: {item.get('last_error') or 'not finished'}")
    elif item.get("pushed_hash") != mp.state_hash(desired):
        truth.pending(tally, "user", uid, _user_difference(item, desired))
    else:
        tally.in_sync += 1


def _user_difference(item: dict[str, Any], desired: dict[str, Any]) -> str:
    pushed = item.get("pushed")
    if isinstance(pushed, dict):
        changed = mp.changed_paths(pushed, desired)
        if changed:
            return "the SP was given other values of " + ", ".join(sorted(changed)[:5])
    return "the directory changed since the last push"


def _assess_group(truth: Truth, cfg: ProvisioningConfig, d: CachedDirectory, gid: str, item: dict[str, Any] | None,
                  umaps: dict[str, dict[str, Any]], bound: bool) -> None:
    tally = truth.groups
    group = d.get_group(gid)
    mapped = bool(item and item.get("scim_id"))
    if item and item.get("status") == STATUS_FAILED:
        tally.failed += 1
        return
    if group is None:
        if mapped:
            truth.pending(tally, "group", gid, "deleted in the directory, not yet deleted in the SP")
        return
    if not bound:
        if mapped:
            tally.in_sync += 1  # unbound: left in the SP as it is
        return
    want = {u for u in d.list_members(gid) if (umaps.get(u) or {}).get("scim_id")}
    if not mapped or item is None:
        if want:
            truth.pending(tally, "group", gid, f"bound with {len(want)} members in the SP, the group not yet created")
        return
    have: Any = set(item.get("members") or ())
    if item.get("status") not in IN_SYNC:
        truth.pending(tally, "group", gid, f"last push {item.get('status')}: {item.get('last_error') or 'not finished'}")
    elif have != want:
        missing, extra = len(want - have), len(have - want)
        parts = ([f"{missing} member(s) not yet added"] if missing else []) + ([f"{extra} not yet removed"] if extra else [])
        truth.pending(tally, "group", gid, "; ".join(parts))
    elif item.get("display_name") not in (None, group.get("name")):
        truth.pending(tally, "group", gid, f"named '{item.get('display_name')}' in the SP, '{group.get('name')}' here")
    else:
        tally.in_sync += 1


def of_app(engine: Engine, slug: str) -> Truth | None:
    """Read the app's mapping items and the directory, and assess them (None: provisioning not configured).
    `engine`: an `idp.provisioning.engine.Engine` (its directory and state). A directory that can read
    ahead (`read_ahead(uids, gids)`, the DynamoDB store inside a read scope) reads the users and groups
    in batches first."""
    d = CachedDirectory(engine.directory)
    cfg = engine.config(slug, d)
    if cfg is None:
        return None
    umaps, gmaps = engine.stores.mappings.maps(slug, "USER"), engine.stores.mappings.maps(slug, "GROUP")
    read_ahead = getattr(engine.directory, "read_ahead", None)
    if read_ahead is not None:
        wanted = set(d.app_user_bindings(slug))
        for gid in d.app_group_bindings(slug):
            wanted.update(d.list_members(gid))
        read_ahead(sorted(set(umaps) | wanted), sorted(set(gmaps) | set(d.app_group_bindings(slug))))
    return assess(cfg, d, umaps, gmaps)
