"""Pure decisions: what the SP should hold for one (app, user) and one (app, group), given the
directory as it is now and what was pushed before. No I/O here."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from idp.kernel import access
from idp.kernel.users import is_active

# ---------------------------------------------------------------- app settings
DEFAULT_DEPROVISION_SHARE = 0.25
DEFAULT_DEPROVISION_MIN = 5
DEFAULT_MAX_CONCURRENCY = 16  # requests in flight to one SP during a reconcile (why 16: idp.provisioning.parallel)
MAX_CONCURRENCY = 32  # the most an administrator may set (idp.directory.models.ProvisioningSettings)


@dataclass(frozen=True)
class ProvisioningConfig:
    slug: str
    base_url: str
    enabled: bool
    group_management: bool
    dialect: str = "standard"  # standard | entra | put
    matching_attribute: str | None = None  # userName | emails | externalId
    deprovision: str = "deactivate"  # what a directory delete does: deactivate | delete
    max_deprovision_share: float = DEFAULT_DEPROVISION_SHARE
    deprovision_guard_min: int = DEFAULT_DEPROVISION_MIN
    attribute_mapping: dict[str, Any] | None = None
    require_import_confirmation: bool = False  # the first push to a non-empty SP waits for the import (import_gate)
    max_concurrency: int = DEFAULT_MAX_CONCURRENCY  # a reconcile's requests in flight to this SP (parallel.for_each)

    @classmethod
    def from_app(cls, app: dict[str, Any] | None) -> "ProvisioningConfig | None":
        if not app:
            return None
        prov: dict[str, Any] = app.get("provisioning") or {}
        if not prov.get("base_url"):
            return None
        share = prov.get("max_deprovision_share")
        return cls(
            slug=app["slug"],
            base_url=str(prov["base_url"]).rstrip("/"),
            enabled=bool(prov.get("enabled", True)),
            group_management=bool(prov.get("group_management", False)),
            dialect=prov.get("dialect") or "standard",
            matching_attribute=prov.get("matching_attribute") or None,
            deprovision=prov.get("deprovision") or app.get("deprovision") or "deactivate",
            max_deprovision_share=DEFAULT_DEPROVISION_SHARE if share is None else float(share),
            deprovision_guard_min=int(prov.get("deprovision_guard_min") or DEFAULT_DEPROVISION_MIN),
            attribute_mapping=prov.get("attribute_mapping") or None,
            require_import_confirmation=bool(prov.get("require_import_confirmation")),
            max_concurrency=_concurrency(prov.get("max_concurrency")),
        )


def _concurrency(value: Any) -> int:
    """The stored `max_concurrency`, within 1..MAX_CONCURRENCY (absent or unreadable: the default)."""
    try:
        n = int(value) if value is not None else DEFAULT_MAX_CONCURRENCY
    except (TypeError, ValueError):
        return DEFAULT_MAX_CONCURRENCY
    return max(1, min(MAX_CONCURRENCY, n))


# ---------------------------------------------------------------- users
@dataclass(frozen=True)
class UserPlan:
    action: str  # none | active | inactive | delete
    reason: str


def plan_user(user: dict[str, Any] | None, bound: bool, provisioned: bool, deprovision: str = "deactivate") -> UserPlan:
    """What the SP should hold for this user.

    - ACTIVE and bound (directly or through a group) → exists and active (create when missing);
    - suspended, or no longer bound → inactive (only if it was ever pushed: never create to deactivate);
    - deleted in the directory → inactive or deleted, per the app's `deprovision` policy.
    """
    if user is None:
        if not provisioned:
            return UserPlan("none", "deleted in the directory, never provisioned")
        if deprovision == "delete":
            return UserPlan("delete", "deleted in the directory")
        return UserPlan("inactive", "deleted in the directory")
    suspended = not is_active(user)
    if bound and not suspended:
        return UserPlan("active", "bound to the app and ACTIVE")
    if not provisioned:
        return UserPlan("none", "suspended in the directory" if suspended else "not bound to the app")
    return UserPlan("inactive", "suspended in the directory" if suspended else "no longer bound to the app")


def user_is_bound(uid: str, direct: set[str] | list[str], bound_groups: set[str], groups_of_user: list[str]) -> bool:
    """The access rule (idp.kernel.access) over what a run read of the app's bindings."""
    return access.is_bound(directly=uid in direct, user_groups=groups_of_user, app_groups=bound_groups)


# ---------------------------------------------------------------- groups
@dataclass(frozen=True)
class GroupPlan:
    action: str  # none | ensure | delete | leave
    reason: str


def plan_group(group: dict[str, Any] | None, bound: bool, mapped: bool, desired_member_count: int,
               group_management: bool) -> GroupPlan:
    """JumpCloud's rules: only groups bound to the app; no empty groups; a group deleted in the
    directory is deleted in the SP; an unbound group is left as it is (its members are handled
    user by user)."""
    if not group_management:
        return GroupPlan("none", "group management is off")
    if group is None:
        return GroupPlan("delete", "deleted in the directory") if mapped else GroupPlan("none", "deleted, never pushed")
    if not bound:
        return GroupPlan("leave", "not bound to the app: left as it is") if mapped else GroupPlan("none", "not bound")
    if not mapped and desired_member_count == 0:
        return GroupPlan("none", "no provisioned members yet: empty groups are not created")
    return GroupPlan("ensure", "bound to the app")


def member_changes(desired: set[str], current: set[str]) -> tuple[list[str], list[str]]:
    """(to add, to remove), sorted for stable requests."""
    return sorted(desired - current), sorted(current - desired)


# ---------------------------------------------------------------- guard and backoff
def exceeds_deprovision_guard(would_deprovision: int, provisioned_active: int, share: float, minimum: int) -> bool:
    """True when one run would deactivate/delete more than `share` of the active users (and at least
    `minimum` of them: a two-user app may lose one without an administrator)."""
    if would_deprovision < max(1, minimum):
        return False
    if provisioned_active <= 0:
        return False
    return would_deprovision > share * provisioned_active


def backoff_seconds(receive_count: int, base: float, cap: float, rand: float) -> float:
    """Exponential backoff with 'equal jitter': half fixed, half random. `rand` in [0, 1)."""
    exp = min(cap, base * (2 ** max(0, receive_count - 1)))
    return float(exp / 2 + (exp / 2) * rand)
