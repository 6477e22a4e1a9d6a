"""The provisioning state in memory (every port of `idp.provisioning.ports` in one object; `stores_of` hands
it to the engine as each of its `ProvisioningStores`), with the DynamoDB adapter's conditional-write semantics: a create claim has one holder until it
is released or lapses, the reconcile lease is acquired only when free or lapsed and renewed or
released only with its token, `save_pushed` with a stale claim raises `ClaimLost`, member sets are
string sets (an empty one is no attribute), writes upsert as `UpdateItem` does. Thread-safe (one
lock); inside `buffered()` leased creates and log entries are held per thread, as the adapter does.
The contract tests in tests/integration/provisioning run against both."""
from __future__ import annotations

import contextlib
import copy
import itertools
import json
import secrets
import threading
import time
from typing import Any, Callable

from idp.kernel.clock import now_iso_ms as now_iso
from idp.provisioning.policy import auth_failure_reason, breaker_trip
from idp.provisioning.ports import (
    CLAIM_SECONDS,
    IN_SYNC,
    LEASE_SECONDS,
    STATUS_CREATING,
    STATUS_FAILED,
    AccessSnapshots,
    AppStatusStore,
    ClaimLost,
    ClaimStore,
    LeaseStore,
    MappingStore,
    ProvisioningLog,
    ProvisioningStores,
    WriteBuffer,
)

LOG_TTL_SECONDS = 30 * 24 * 3600
BATCH_SIZE = 25


class ManualClock:
    """A clock for claims, leases, the breaker and log TTLs that moves only when told to."""

    def __init__(self, now: float = 1_800_000_000.0):
        self.now = float(now)
        self._lock = threading.Lock()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> float:
        with self._lock:
            self.now += seconds
            return self.now


def _plain(value: Any) -> Any:
    """What reading a DynamoDB number gives: integral values as int."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _map_sk(kind: str, eid: str) -> str:
    assert kind in ("USER", "GROUP"), kind
    return f"SCIM#{kind}#{eid}"


class _Held(threading.local):
    def __init__(self):
        self.depth = 0
        self.maps: dict[tuple[str, str], dict] = {}
        self.logs: list[dict] = []


class InMemoryProvisioningState:
    def __init__(self, clock: Callable[[], float] = time.time):
        self.clock = clock
        self.lock = threading.RLock()
        self.items: dict[tuple[str, str], dict] = {}  # (pk, sk) -> item, as the table holds them
        self.log_items: list[dict] = []
        self._held = _Held()
        self._seq = itertools.count(1)

    # ---------------------------------------------------------------- helpers
    def _item(self, pk: str, sk: str) -> dict | None:
        item = self.items.get((pk, sk))
        return copy.deepcopy(item) if item is not None else None

    def _upsert(self, pk: str, sk: str) -> dict:
        return self.items.setdefault((pk, sk), {"pk": pk, "sk": sk})

    @staticmethod
    def _decode(item: dict) -> dict:
        item = _plain(copy.deepcopy(item))
        if isinstance(item.get("pushed"), str):
            item["pushed"] = json.loads(item["pushed"])
        if "members" in item:
            item["members"] = set(item["members"])
        return item

    # ---------------------------------------------------------------- write buffer
    @contextlib.contextmanager
    def buffered(self):
        held = self._held
        held.depth += 1
        try:
            yield self
        finally:
            held.depth -= 1
            self.flush()

    @property
    def buffering(self) -> bool:
        return self._held.depth > 0

    def pending(self) -> int:
        return len(self._held.maps) + len(self._held.logs)

    def flush(self) -> None:
        self.flush_maps()
        held = self._held
        if held.logs:
            with self.lock:
                self.log_items.extend(held.logs)
            held.logs = []

    def flush_maps(self) -> None:
        held = self._held
        if held.maps:
            with self.lock:
                for key, item in held.maps.items():
                    self.items[key] = item
            held.maps.clear()

    def _before_map_io(self) -> None:
        if self._held.maps:
            self.flush_maps()

    def _hold(self) -> None:
        if self.pending() >= BATCH_SIZE:
            self.flush()

    # ---------------------------------------------------------------- mapping items
    def get_map(self, slug: str, kind: str, eid: str) -> dict | None:
        key = (f"APP#{slug}", _map_sk(kind, eid))
        held = self._held.maps.get(key)
        if held is not None:
            return self._decode(held)
        with self.lock:
            item = self.items.get(key)
            return self._decode(item) if item is not None else None

    def maps(self, slug: str, kind: str, attributes: tuple[str, ...] | None = None) -> dict[str, dict]:
        self._before_map_io()
        prefix = f"SCIM#{kind}#"
        out: dict[str, dict] = {}
        with self.lock:
            for (pk, sk), item in sorted(self.items.items()):
                if pk != f"APP#{slug}" or not sk.startswith(prefix):
                    continue
                if attributes:
                    item = {a: item[a] for a in ("sk", *attributes) if a in item}
                out[sk[len(prefix):]] = self._decode(item)
        return out

    def save_pushed(self, slug: str, kind: str, eid: str, *, scim_id: str, status: str, etag: str | None = None,
                    pushed: dict | None = None, pushed_hash: str | None = None, display_name: str | None = None,
                    members: set[str] | None = None, claim_token: str | None = None,
                    memberships_pending: bool = False) -> None:
        self._before_map_io()
        pk, sk = f"APP#{slug}", _map_sk(kind, eid)
        with self.lock:
            if claim_token and (self.items.get((pk, sk)) or {}).get("claim_token") != claim_token:
                raise ClaimLost(f"{kind} {eid}: the create claim was taken over")
            item = self._upsert(pk, sk)
            item.update(scim_id=scim_id, status=status, updated_at=now_iso(), entity_id=eid)
            for attr, val in (("etag", etag), ("pushed_hash", pushed_hash), ("display_name", display_name)):
                if val is not None:
                    item[attr] = val
            if pushed is not None:
                item["pushed"] = json.dumps(pushed, sort_keys=True, default=str)
            if memberships_pending:
                item["memberships_pending"] = True
            if members is not None:
                if members:
                    item["members"] = set(members)
                else:
                    item.pop("members", None)
            item.pop("last_error", None)
            if claim_token:
                item.pop("claim_token", None)
                item.pop("claim_until", None)

    def put_created(self, slug: str, kind: str, eid: str, *, scim_id: str, status: str, etag: str | None = None,
                    pushed: dict | None = None, pushed_hash: str | None = None) -> None:
        item: dict[str, Any] = {"pk": f"APP#{slug}", "sk": _map_sk(kind, eid), "scim_id": scim_id, "status": status,
                                "updated_at": now_iso(), "entity_id": eid}
        if etag is not None:
            item["etag"] = etag
        if pushed_hash is not None:
            item["pushed_hash"] = pushed_hash
        if pushed is not None:
            item["pushed"] = json.dumps(pushed, sort_keys=True, default=str)
        if self.buffering:
            self._held.maps[(item["pk"], item["sk"])] = item
            self._hold()
            return
        with self.lock:
            self.items[(item["pk"], item["sk"])] = item

    def update_members(self, slug: str, gid: str, add: set[str] = frozenset(), remove: set[str] = frozenset()) -> None:
        self._before_map_io()
        with self.lock:
            for change, op in ((add, set.union), (remove, set.difference)):
                if not change:
                    continue
                item = self._upsert(f"APP#{slug}", _map_sk("GROUP", gid))
                members = op(set(item.get("members") or ()), set(change))
                if members:
                    item["members"] = members
                else:
                    item.pop("members", None)
                item["updated_at"] = now_iso()

    def set_status(self, slug: str, kind: str, eid: str, status: str, last_error: str | None = None) -> None:
        self._before_map_io()
        with self.lock:
            item = self._upsert(f"APP#{slug}", _map_sk(kind, eid))
            item.update(status=status, updated_at=now_iso(), entity_id=eid)
            if last_error is not None:
                item["last_error"] = last_error[:1000]
            else:
                item.pop("last_error", None)

    def set_memberships_pending(self, slug: str, uid: str, pending: bool) -> None:
        self._before_map_io()
        with self.lock:
            item = self.items.get((f"APP#{slug}", _map_sk("USER", uid)))
            if item is None:
                return
            if pending:
                item["memberships_pending"] = True
            else:
                item.pop("memberships_pending", None)

    def forget(self, slug: str, kind: str, eid: str) -> None:
        self._before_map_io()
        with self.lock:
            self.items.pop((f"APP#{slug}", _map_sk(kind, eid)), None)

    def forget_app(self, slug: str) -> None:
        self._before_map_io()
        with self.lock:
            for pk, sk in list(self.items):
                if pk == f"APP#{slug}" and sk.startswith(("SCIM#USER#", "SCIM#GROUP#")):
                    del self.items[(pk, sk)]

    def counts(self, slug: str) -> dict:
        result: dict[str, Any] = {}
        for kind in ("USER", "GROUP"):
            c = {"in_sync": 0, "pending": 0, "failed": 0}
            for item in self.maps(slug, kind).values():
                status = item.get("status")
                key = "in_sync" if status in IN_SYNC else "failed" if status == STATUS_FAILED else "pending"
                c[key] += 1
            result[kind.lower() + "s"] = c
        return result

    # ---------------------------------------------------------------- create claims
    def claim_create(self, slug: str, kind: str, eid: str, seconds: int = CLAIM_SECONDS) -> str | None:
        self._before_map_io()
        now = self.clock()
        with self.lock:
            current = self.items.get((f"APP#{slug}", _map_sk(kind, eid))) or {}
            if "scim_id" in current or ("claim_until" in current and not current["claim_until"] < round(now, 3)):
                return None
            token = secrets.token_hex(8)
            item = self._upsert(f"APP#{slug}", _map_sk(kind, eid))
            item.update(claim_token=token, claim_until=round(now + seconds, 3), status=STATUS_CREATING,
                        entity_id=eid, updated_at=now_iso())
            return token

    def forget_unclaimed(self, slug: str, kind: str, eid: str) -> bool:
        self._before_map_io()
        now = self.clock()
        with self.lock:
            key = (f"APP#{slug}", _map_sk(kind, eid))
            current = self.items.get(key)
            if current is None:
                return True
            if "scim_id" in current or ("claim_until" in current and not current["claim_until"] < round(now, 3)):
                return False
            del self.items[key]
            return True

    def release_claim(self, slug: str, kind: str, eid: str, token: str) -> None:
        self._before_map_io()
        with self.lock:
            item = self.items.get((f"APP#{slug}", _map_sk(kind, eid)))
            if item is not None and item.get("claim_token") == token:
                item.pop("claim_token", None)
                item.pop("claim_until", None)

    # ---------------------------------------------------------------- the reconcile lease
    def acquire_lease(self, slug: str, seconds: float = LEASE_SECONDS) -> tuple[str, float] | None:
        now = self.clock()
        until = round(now + seconds, 3)
        with self.lock:
            current = self.items.get((f"APP#{slug}", "SCIM#LEASE")) or {}
            if "lease_until" in current and not current["lease_until"] < round(now, 3):
                return None
            token = secrets.token_hex(8)
            item = self._upsert(f"APP#{slug}", "SCIM#LEASE")
            item.update(lease_token=token, lease_until=until, acquired_at=now_iso())
            return token, until

    def renew_lease(self, slug: str, token: str, seconds: float = LEASE_SECONDS) -> float | None:
        now = self.clock()
        until = round(now + seconds, 3)
        with self.lock:
            item = self.items.get((f"APP#{slug}", "SCIM#LEASE"))
            if item is None or item.get("lease_token") != token or float(item.get("lease_until") or 0) < round(now, 3):
                return None
            item["lease_until"] = until
            return until

    def release_lease(self, slug: str, token: str) -> None:
        with self.lock:
            item = self.items.get((f"APP#{slug}", "SCIM#LEASE"))
            if item is not None and item.get("lease_token") == token:
                del self.items[(f"APP#{slug}", "SCIM#LEASE")]

    def lease_blocks(self, slug: str, token: str | None = None) -> bool:
        with self.lock:
            item = self._item(f"APP#{slug}", "SCIM#LEASE")
        if not item:
            return False
        if token is not None and item.get("lease_token") == token:
            return False
        return float(item.get("lease_until") or 0) > self.clock()

    # ---------------------------------------------------------------- app status + breaker
    def app_status(self, slug: str) -> dict:
        with self.lock:
            item = self._item(f"APP#{slug}", "SCIM#STATUS")
        return _plain(item) if item else {"state": "ok", "consecutive_failures": 0}

    def _status_update(self, slug: str, sets: dict[str, Any], removes: tuple[str, ...] = (), add: dict | None = None) -> dict:
        with self.lock:
            item = self._upsert(f"APP#{slug}", "SCIM#STATUS")
            item.update(copy.deepcopy(sets))
            for k, v in (add or {}).items():
                item[k] = item.get(k, 0) + v
            for k in removes:
                item.pop(k, None)
            return _plain(copy.deepcopy(item))

    def breaker_open_for(self, status: dict) -> float:
        return max(0.0, float(status.get("open_until") or 0) - self.clock())

    def _close(self, slug: str) -> None:
        self._status_update(slug, {"state": "ok", "consecutive_failures": 0, "window_successes": 0, "recovered_at": now_iso()},
                            removes=("open_until", "reason", "opened_at_failures"))

    def note_success(self, slug: str, status: dict | None = None, window: float = 60.0, requests: int = 1) -> dict | None:
        if status is not None:
            if status.get("state", "ok") != "ok" or status.get("consecutive_failures") or status.get("open_until"):
                self._close(slug)
            return None
        new = self._count(slug, "window_successes", window, {}, by=max(1, int(requests)))
        if new.get("state", "ok") not in ("ok", "halted") or new.get("open_until"):
            self._close(slug)
            return None
        return dict(new) or None

    def _count(self, slug: str, counter: str, window: float, sets: dict, by: int = 1) -> dict:
        """As the adapter's: one more in the window, or a fresh window starting with this event."""
        now = self.clock()
        other = "window_successes" if counter == "consecutive_failures" else "consecutive_failures"
        with self.lock:
            item = self._upsert(f"APP#{slug}", "SCIM#STATUS")
            item.update(sets)
            fresh = "window_start" in item and not float(item["window_start"]) < round(now - window, 3)
            if fresh or item.get("state") == "failing":
                item[counter] = item.get(counter, 0) + by
            else:
                item.update({counter: by, other: 0, "window_start": round(now, 3)})
            item["window_at"] = round(now, 3)
            return _plain(copy.deepcopy(item))

    def note_transient_failure(self, slug: str, message: str, *, threshold: int, base_cooldown: float,
                               max_cooldown: float, window: float = 60.0) -> float:
        now = self.clock()
        new = self._count(slug, "consecutive_failures", window, {"last_error": message[:1000], "last_error_at": now_iso()})
        trip = breaker_trip(new, message, now=now, threshold=threshold, base_cooldown=base_cooldown,
                            max_cooldown=max_cooldown, window=window)
        if trip is None:
            return 0.0
        self._status_update(slug, trip[1])
        return trip[0]

    def note_auth_failure(self, slug: str, message: str, retry_seconds: float) -> None:
        self._status_update(slug, {"state": "auth_failed", "open_until": self.clock() + retry_seconds,
                                   "reason": auth_failure_reason(slug, message),
                                   "last_error": message[:1000], "last_error_at": now_iso()})

    def note_permanent_failure(self, slug: str, message: str) -> None:
        self._status_update(slug, {"last_error": message[:1000], "last_error_at": now_iso()})

    def set_halted(self, slug: str, reason: str) -> None:
        self._status_update(slug, {"state": "halted", "reason": reason, "halted_at": now_iso()})

    def reset_app(self, slug: str) -> None:
        self._status_update(slug, {"state": "ok", "consecutive_failures": 0, "window_successes": 0}, removes=("open_until", "reason", "opened_at_failures"))

    def open_import_gate(self, slug: str) -> None:
        self._status_update(slug, {"import_gate": "open", "import_gate_opened_at": now_iso()})

    def note_reconcile(self, slug: str, summary: dict) -> None:
        self._status_update(slug, {"last_reconcile_at": now_iso(), "last_reconcile": summary})

    # ---------------------------------------------------------------- bound-group snapshots
    def access_snapshot(self, slug: str, gid: str) -> set[str] | None:
        with self.lock:
            item = self._item(f"APP#{slug}", f"SCIM#ACCESS#{gid}")
        return None if item is None else set(item.get("members") or ())

    def put_access_snapshot(self, slug: str, gid: str, members: set[str], *, only_if_absent: bool = False) -> bool:
        item: dict[str, Any] = {"pk": f"APP#{slug}", "sk": f"SCIM#ACCESS#{gid}", "updated_at": now_iso()}
        if members:
            item["members"] = set(members)
        with self.lock:
            if only_if_absent and (item["pk"], item["sk"]) in self.items:
                return False
            self.items[(item["pk"], item["sk"])] = item
        return True

    def delete_access_snapshot(self, slug: str, gid: str) -> None:
        with self.lock:
            self.items.pop((f"APP#{slug}", f"SCIM#ACCESS#{gid}"), None)

    # ---------------------------------------------------------------- provisioning log
    def log(self, slug: str, kind: str, eid: str, *, action: str, outcome: str, request: dict | None = None,
            sp_status: int | None = None, sp_message: str | None = None, detail: str | None = None) -> None:
        ts = now_iso()
        sk = f"{ts}#{next(self._seq):08x}"  # as the adapter: the order of writes within a millisecond
        item: dict[str, Any] = {"pk": f"PLOG#{slug}#{kind}#{eid}", "sk": sk, "gsi1pk": f"PLOG#{slug}", "gsi1sk": sk,
                                "kind": kind.lower(), "entity_id": eid, "app": slug, "at": ts, "action": action,
                                "outcome": outcome, "expires_at": int(self.clock()) + LOG_TTL_SECONDS}
        if request is not None:
            item["request"] = json.dumps(request, default=str)[:4000]
        if sp_status is not None:
            item["sp_status"] = int(sp_status)
        if sp_message:
            item["sp_message"] = sp_message[:1000]
        if detail:
            item["detail"] = detail[:1000]
        if self.buffering:
            self._held.logs.append(item)
            self._hold()
            return
        with self.lock:
            self.log_items.append(item)

    def read_log(self, slug: str, *, user_id: str | None = None, group_id: str | None = None, limit: int = 50) -> list[dict]:
        return self.read_log_page(slug, user_id=user_id, group_id=group_id, limit=limit)[0]

    def read_log_page(self, slug: str, *, user_id: str | None = None, group_id: str | None = None,
                      limit: int = 50, start_key: dict | None = None) -> tuple[list[dict], dict | None]:
        self.flush()
        now = int(self.clock())
        limit = max(1, min(int(limit), 500))
        if user_id or group_id:
            pk = f"PLOG#{slug}#USER#{user_id}" if user_id else f"PLOG#{slug}#GROUP#{group_id}"
            match = lambda item: item["pk"] == pk
            key_of = lambda item: {"pk": item["pk"], "sk": item["sk"]}
        else:
            match = lambda item: item["gsi1pk"] == f"PLOG#{slug}"
            key_of = lambda item: {k: item[k] for k in ("pk", "sk", "gsi1pk", "gsi1sk")}
        with self.lock:
            items = sorted((i for i in self.log_items if match(i)), key=lambda i: (i["sk"], i["pk"]), reverse=True)
        if start_key:
            after = (start_key["sk"], start_key["pk"])
            items = [i for i in items if (i["sk"], i["pk"]) < after]
        live = [i for i in items if i["expires_at"] > now]
        out = []
        for item in live[:limit]:
            entry = {k: v for k, v in item.items() if k not in ("pk", "sk", "gsi1pk", "gsi1sk", "expires_at")}
            if isinstance(entry.get("request"), str):
                try:
                    entry["request"] = json.loads(entry["request"])
                except ValueError:
                    pass
            out.append(entry)
        last = key_of(live[limit - 1]) if len(live) > limit else None
        return out, last


# The fields of `ProvisioningStores` and the port each one is.
_PORTS: tuple[tuple[str, type], ...] = (("buffer", WriteBuffer), ("mappings", MappingStore), ("claims", ClaimStore),
                                        ("lease", LeaseStore), ("status", AppStatusStore), ("access", AccessSnapshots),
                                        ("log", ProvisioningLog))


class StoresView:
    """The stores of a `ProvisioningStores` (DynamoDB's, `dynamo_stores`) as one object for a test's set-up and
    assertions: `view.get_map` is the mapping store's, `view.app_status` the status store's, and so on. The
    engine takes the stores themselves (`stores_of(view)`)."""

    def __init__(self, stores: ProvisioningStores):
        self.stores = stores
        self.table = getattr(stores.mappings, "table", None)

    @property
    def clock(self) -> Callable[[], float]:
        return self.stores.clock

    def __getattr__(self, name: str) -> Any:
        for field, port in _PORTS:
            if name in vars(port):
                return getattr(getattr(self.stores, field), name)
        raise AttributeError(name)


def stores_of(state: Any) -> ProvisioningStores:
    """The ports of the provisioning state as the engine takes them: every one `state` (the in-memory state, or a
    test's wrapper of it), or the stores a `StoresView` shows."""
    if isinstance(state, StoresView):
        return state.stores
    return ProvisioningStores(**{field: state for field, _ in _PORTS}, clock=state.clock)
