"""One unit of provisioning work and what every sync step shares: the `Outcome` of a sync, the
`MISSING` marker, `CachedDirectory` (directory reads memoised for one event or reconcile run),
`Run` (the app's config, its SCIM client, the request count, the user mapping items read so far,
the reconcile lease while held), and the provisioning-log write that never stops provisioning.
A reconcile's workers share one `Run` and one `CachedDirectory` (`idp.provisioning.parallel`): both are
safe to use from several threads (the request count under a lock, with each thread's own count beside it;
the memo's entries written under a lock; a value read twice at once is read twice, never mixed up)."""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Final, Literal, cast

from aws_lambda_powertools import Logger

from idp.provisioning.planner import ProvisioningConfig
from idp.provisioning.ports import DirectoryPort, MappingStore, ProvisioningLog, ScimApi

log = Logger(child=True)

class Sentinel(Enum):
    MISSING = "missing"  # the SP has no such resource (a reconcile, having listed the SP, passes it as `actual`)
    UNREAD = "unread"  # sync_user(known_map=...) not given: read the mapping item


MISSING: Final = Sentinel.MISSING
UNREAD: Final = Sentinel.UNREAD
SpResource = dict[str, Any] | Literal[Sentinel.MISSING] | None
"""What a caller knows of the object in the SP: its resource (a reconcile listed it), MISSING (listed, and not
there), or None (nothing known: the sync looks it up)."""
KnownMap = dict[str, Any] | None | Literal[Sentinel.UNREAD]
"""The mapping item when the caller read it already (None: there is none), or UNREAD (the sync reads it)."""


@dataclass
class Outcome:
    kind: str  # user | group
    entity_id: str
    app: str
    outcome: str  # created | adopted | updated | deactivated | reactivated | deleted | no_change | skipped | gone | left
    detail: str = ""
    requests: int = 0
    memberships_marked: bool = False  # the mapping this outcome saved already carries `memberships_pending`

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "id": self.entity_id, "app": self.app, "outcome": self.outcome,
                "detail": self.detail, "requests": self.requests}


class CachedDirectory:
    """Memoises directory reads for one unit of work (an event, a reconcile run)."""

    def __init__(self, directory: DirectoryPort):
        self.inner = directory
        self._memo: dict[tuple[Any, ...], Any] = {}
        self._lock = threading.Lock()

    def _remember(self, key: tuple[Any, ...], value: Any) -> Any:
        """The first value stored under `key` (another thread may have read it meanwhile: one answer for all)."""
        with self._lock:
            return self._memo.setdefault(key, value)

    def _get(self, name: str, *args: str) -> Any:
        key = (name, *args)
        if key not in self._memo:
            value = getattr(self.inner, name)(*args)
            return self._remember(key, list(value) if isinstance(value, (list, tuple, set)) else value)
        return self._memo[key]

    def _user_record(self, uid: str) -> tuple[dict[str, Any] | None, list[str], list[str]]:
        """The user, its direct bindings and its groups, read together once (`DirectoryPort.user_record`)."""
        key = ("user_record", uid)
        if key not in self._memo:
            user, apps, groups = self.inner.user_record(uid)
            return cast("tuple[dict[str, Any] | None, list[str], list[str]]",
                        self._remember(key, (user, list(apps), list(groups))))
        return cast("tuple[dict[str, Any] | None, list[str], list[str]]", self._memo[key])

    def get_user(self, uid: str) -> dict[str, Any] | None: return self._user_record(uid)[0]
    def get_group(self, gid: str) -> dict[str, Any] | None: return cast("dict[str, Any] | None", self._get("get_group", gid))
    def list_members(self, gid: str) -> list[str]: return cast("list[str]", self._get("list_members", gid))
    def groups_of_user(self, uid: str) -> list[str]: return self._user_record(uid)[2]
    def get_app(self, slug: str) -> dict[str, Any] | None: return cast("dict[str, Any] | None", self._get("get_app", slug))
    def all_app_slugs(self) -> list[str]: return cast("list[str]", self._get("all_app_slugs"))
    def app_user_bindings(self, slug: str) -> list[str]: return cast("list[str]", self._get("app_user_bindings", slug))
    def app_group_bindings(self, slug: str) -> list[str]: return cast("list[str]", self._get("app_group_bindings", slug))
    def apps_of_user(self, uid: str) -> list[str]: return self._user_record(uid)[1]
    def apps_of_group(self, gid: str) -> list[str]: return cast("list[str]", self._get("apps_of_group", gid))

    # Read past the memo: what the directory says now (the membership re-checks after a write).
    def members_now(self, gid: str) -> list[str]: return list(self.inner.list_members(gid))
    def groups_of_user_now(self, uid: str) -> list[str]: return list(self.inner.groups_of_user(uid))
    def app_groups_now(self, slug: str) -> list[str]: return list(self.inner.app_group_bindings(slug))

    def group_bound_now(self, slug: str, gid: str) -> bool:
        return self.inner.get_group(gid) is not None and slug in self.inner.apps_of_group(gid)

    def user_bound(self, slug: str, uid: str) -> bool:
        if slug in self.apps_of_user(uid):
            return True
        return any(slug in self.apps_of_group(g) for g in self.groups_of_user(uid))

    def group_bound(self, slug: str, gid: str) -> bool:
        return slug in self.apps_of_group(gid)


@dataclass
class Run:
    """What one sync call needs: the app, its client, directory memo, and a request counter."""

    cfg: ProvisioningConfig
    client: ScimApi
    d: CachedDirectory
    requests: int = 0
    user_maps: dict[str, Any] | None = None
    no_claim_wait: bool = False  # a member another consumer is creating is left to it (dispatch, a group's members)
    unwritten: bool = False  # a reconcile's buffered writes failed: its status must not say synced
    synced: list[str] = field(default_factory=list)  # what a reconcile's workers finished, in order (resume)
    leased_creates: set[str] = field(default_factory=set)  # users this run created under the reconcile lease
    lease: str | None = None  # the reconcile lease token while this run holds it
    lease_until: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)
    _mine: threading.local = field(default_factory=threading.local, repr=False, compare=False)

    @property
    def slug(self) -> str:
        return self.cfg.slug

    def count(self, n: int = 1) -> None:
        """One more request sent to the SP (by this thread)."""
        with self.lock:
            self.requests += n
        self._mine.requests = self.mine() + n

    def mine(self) -> int:
        """The requests this thread sent for this run (a sync's own count while workers share the run)."""
        return int(getattr(self._mine, "requests", 0))

    def user_scim_ids(self, maps: MappingStore, *, fresh: bool = False) -> dict[str, dict[str, Any]]:
        """The SP id of every user of the app (only `scim_id` is read from these items): once per run,
        or read again with `fresh` (outside a reconcile, other consumers create users meanwhile; under
        the reconcile lease no one else does, and the run keeps its copy up to date itself)."""
        if self.user_maps is None or (fresh and self.lease is None):
            self.user_maps = maps.maps(self.slug, "USER", attributes=("scim_id",))
        return self.user_maps


def ids(slug: str, kind: str, eid: str) -> dict[str, Any]:
    """The `extra` of a log line about one entity of one app."""
    return {"app": slug, "user_id" if kind == "USER" else "group_id": eid}


def record(plog: ProvisioningLog, run: Run, kind: str, eid: str, action: str, outcome: str, *,
           request: dict[str, Any] | None = None, status: int | None = None, message: str | None = None,
           detail: str | None = None) -> None:
    """An entry in the provisioning log; a failed write is logged and provisioning goes on."""
    try:
        plog.log(run.slug, kind, eid, action=action, outcome=outcome, request=request,
                 sp_status=status, sp_message=message, detail=detail)
    except Exception:  # the log never stops provisioning
        log.exception("provisioning log write failed", extra=ids(run.slug, kind, eid))
