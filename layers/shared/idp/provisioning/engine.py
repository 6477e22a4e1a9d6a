"""Provision one (app, user) or one (app, group): read the directory as it is now, compare with what
was last pushed (hash of the flat SCIM state) and send the fewest requests that close the gap.

Users: match first (`userName eq`, then the app's matching attribute) and adopt, else POST with
externalId; 409 on create → look up and adopt; 404 on update → re-match, then create; PATCH only
the attributes that changed (standard or Entra dialect) or PUT (per app); deactivate with
`active: false`; DELETE only when the directory deleted the user and the app says so.

Groups (group management on): only bound groups; no empty groups; a same-name group is taken
over; renames pushed; membership PATCHes of at most 100 changes, only for provisioned members;
never `replace members`."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable

from aws_lambda_powertools import Logger

from idp.provisioning.planner import ProvisioningConfig, member_changes, plan_group, plan_user
from idp.provisioning.ports import (
    IN_SYNC,
    STATUS_DEACTIVATED,
    STATUS_FAILED,
    STATUS_PENDING,
    STATUS_SYNCED,
    ClaimLost,
    ClientFactory,
    DirectoryPort,
    ProvisioningState,
    ScimApi,
    TokenSource,
)
from idp.scim import mapping as mp
from idp.scim.protocol import (
    DEFAULT_TIMEOUT,
    AuthError,
    Conflict,
    Exchange,
    NotFound,
    PermanentError,
    RetryLater,
    ScimError,
    eq_filter,
)

log = Logger(child=True)

CLAIM_WAIT_SECONDS = 3.0
MISSING = object()  # "the SP has no such resource" (reconcile passes it as `actual`)
_UNREAD = object()  # sync_user(known_map=...) not given: read the mapping item

# The reconcile lease (state.LEASE_SECONDS long) is renewed, after writing what is buffered, once
# less than this is left; a user is created under the lease only with at least this much left, so
# one user's work (a few requests, each bounded by the client timeout and the in-invocation
# Retry-After budget) and the write of its mapping item end well before the lease could lapse.
LEASE_RENEW_BELOW = 120.0

# Retry-After waited out inside the invocation (and the same request sent again) instead of ending
# the event: only values up to this, and only while the Lambda's remaining time (minus the margin)
# allows; longer ones go back to the queue as before.
INLINE_RETRY_AFTER_MAX = 2.0
INLINE_RETRY_MARGIN = 15.0  # seconds left in the Lambda after the wait, for the retried request and the flush
INLINE_RETRY_ATTEMPTS = 10  # 429s in a row for one request before it is handed to the queue after all


class Busy(RetryLater):
    """Another worker is creating this object right now."""


@dataclass
class Outcome:
    kind: str  # user | group
    entity_id: str
    app: str
    outcome: str  # created | adopted | updated | deactivated | reactivated | deleted | no_change | skipped | gone | left
    detail: str = ""
    requests: int = 0

    def to_dict(self) -> dict:
        return {"kind": self.kind, "id": self.entity_id, "app": self.app, "outcome": self.outcome,
                "detail": self.detail, "requests": self.requests}


class CachedDirectory:
    """Memoises directory reads for one unit of work (an event, a reconcile run)."""

    def __init__(self, directory: DirectoryPort):
        self.inner = directory
        self._memo: dict[tuple, Any] = {}

    def _get(self, name: str, *args):
        key = (name, *args)
        if key not in self._memo:
            value = getattr(self.inner, name)(*args)
            self._memo[key] = list(value) if isinstance(value, (list, tuple, set)) else value
        return self._memo[key]

    def get_user(self, uid): return self._get("get_user", uid)
    def get_group(self, gid): return self._get("get_group", gid)
    def list_members(self, gid): return self._get("list_members", gid)
    def groups_of_user(self, uid): return self._get("groups_of_user", uid)
    def get_app(self, slug): return self._get("get_app", slug)
    def all_app_slugs(self): return self._get("all_app_slugs")
    def app_user_bindings(self, slug): return self._get("app_user_bindings", slug)
    def app_group_bindings(self, slug): return self._get("app_group_bindings", slug)
    def apps_of_user(self, uid): return self._get("apps_of_user", uid)
    def apps_of_group(self, gid): return self._get("apps_of_group", gid)

    def user_bound(self, slug: str, uid: str) -> bool:
        if slug in self.apps_of_user(uid):
            return True
        return any(slug in self.apps_of_group(g) for g in self.groups_of_user(uid))

    def group_bound(self, slug: str, gid: str) -> bool:
        return slug in self.apps_of_group(gid)


@dataclass
class _Run:
    """What one sync call needs: the app, its client, directory memo, and a request counter."""

    cfg: ProvisioningConfig
    client: ScimApi
    d: CachedDirectory
    requests: int = 0
    user_maps: dict | None = None
    extra: dict = field(default_factory=dict)
    lease: str | None = None  # the reconcile lease token while this run holds it
    lease_until: float = 0.0


class Engine:
    def __init__(
        self,
        directory: DirectoryPort,
        state: ProvisioningState,
        tokens: TokenSource,
        *,
        client_factory: ClientFactory,
        timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
        on_exchange: Callable[[str, Exchange], None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.directory = directory
        self.state = state
        self.tokens = tokens
        self.client_factory = client_factory
        self.timeout = timeout
        self.on_exchange = on_exchange
        self.sleep = sleep
        self._clients: dict[str, ScimApi] = {}
        self._fresh_token: set[str] = set()
        self.clock: Callable[[], float] = time.monotonic
        self._deadline: float | None = None  # monotonic; set per invocation from the Lambda context

    # ---------------------------------------------------------------- in-invocation Retry-After
    def set_deadline(self, remaining_seconds: float | None) -> None:
        """The Lambda's remaining time for this invocation (None: unknown, never wait inline)."""
        self._deadline = None if remaining_seconds is None else self.clock() + remaining_seconds

    def _wait_retry_after(self, seconds: float, attempt: int) -> bool:
        """The client asks whether to wait `seconds` (the SP's Retry-After on a 429) and send the same
        request again. Yes when the wait is short and the invocation has the time; else the 429 ends
        the event's work as before and the queue brings it back."""
        if self._deadline is None or attempt > INLINE_RETRY_ATTEMPTS or seconds > INLINE_RETRY_AFTER_MAX:
            return False
        if self._deadline - self.clock() - seconds < INLINE_RETRY_MARGIN:
            return False
        self.sleep(seconds)
        return True

    # ---------------------------------------------------------------- plumbing
    def config(self, slug: str, d: CachedDirectory | None = None) -> ProvisioningConfig | None:
        app = (d or self.directory).get_app(slug)
        return ProvisioningConfig.from_app(app)

    def enabled_apps(self, d: CachedDirectory) -> list[ProvisioningConfig]:
        out = []
        for slug in d.all_app_slugs():
            cfg = self.config(slug, d)
            if cfg and cfg.enabled:
                out.append(cfg)
        return out

    def credentials_failed(self, slug: str) -> None:
        """After a 401/403: read the token afresh next time (it may have been fixed)."""
        self._fresh_token.add(slug)
        self._clients.pop(slug, None)

    def client_for(self, cfg: ProvisioningConfig) -> ScimApi:
        fresh = cfg.slug in self._fresh_token
        token = self.tokens(cfg.slug, fresh) if fresh else self.tokens(cfg.slug)
        self._fresh_token.discard(cfg.slug)
        if not token:
            raise AuthError("no SCIM token is set for this app", status=0)
        client = self._clients.get(cfg.slug)
        if client is None or client.base_url != cfg.base_url.rstrip("/") or client.token != token:
            slug = cfg.slug
            hook = (lambda ex, slug=slug: self.on_exchange(slug, ex)) if self.on_exchange else None
            client = self.client_factory(cfg.base_url, token, timeout=self.timeout, on_exchange=hook,
                                retry_wait=self._wait_retry_after)
            self._clients[cfg.slug] = client
        return client

    def _run(self, slug: str, d: CachedDirectory | None) -> _Run | None:
        d = d or CachedDirectory(self.directory)
        cfg = self.config(slug, d)
        if not cfg or not cfg.enabled:
            return None
        return _Run(cfg, self.client_for(cfg), d)

    def _count(self, run: _Run, n: int = 1) -> None:
        run.requests += n

    def _log(self, run: _Run, kind: str, eid: str, action: str, outcome: str, *, request: dict | None = None,
             status: int | None = None, message: str | None = None, detail: str | None = None) -> None:
        try:
            self.state.log(run.cfg.slug, kind, eid, action=action, outcome=outcome, request=request,
                           sp_status=status, sp_message=message, detail=detail)
        except Exception:  # noqa: BLE001 - the log never stops provisioning
            log.exception("provisioning log write failed")

    def _user_maps(self, run: _Run) -> dict[str, dict]:
        """The SP id of every user of the app (only `scim_id` is read from these items)."""
        if run.user_maps is None:
            run.user_maps = self.state.maps(run.cfg.slug, "USER", attributes=("scim_id",))
        return run.user_maps

    # ================================================================ users
    def sync_user(self, slug: str, uid: str, *, d: CachedDirectory | None = None, actual: Any = None,
                  force: bool = False, fix_memberships: bool = True, skip_groups: set[str] | None = None,
                  run: _Run | None = None, known_map: Any = _UNREAD) -> Outcome:
        """Make the SP's copy of this user match the directory. `actual`: the SP resource when the
        caller has read it already (reconcile), or MISSING. `force`: read the SP even when the
        hash says nothing changed (provision on demand). `known_map`: the user's mapping item (or
        None) when the caller has read it already (reconcile reads them all at once, after taking
        its lease)."""
        run = run or self._run(slug, d)
        if run is None:
            return Outcome("user", uid, slug, "skipped", "provisioning is off for this app")
        before = run.requests
        try:
            out = self._sync_user(run, uid, actual, force, fix_memberships, skip_groups or set(), known_map)
        except ScimError as exc:
            self._user_failed(run, uid, exc)
            raise
        out.requests = run.requests - before
        return out

    def _user_failed(self, run: _Run, uid: str, exc: ScimError) -> None:
        slug = run.cfg.slug
        if isinstance(exc, AuthError):
            self._log(run, "USER", uid, "push", "auth_failed", status=exc.status or None, message=exc.message)
            return
        permanent = isinstance(exc, (PermanentError, Conflict, NotFound))
        status = STATUS_FAILED if permanent else STATUS_PENDING
        try:
            self.state.set_status(slug, "USER", uid, status, exc.message)
        except Exception:  # noqa: BLE001
            log.exception("status write failed")
        self._log(run, "USER", uid, exc.method or "push", "failed" if permanent else "retry",
                  request={"method": exc.method, "path": exc.path} if exc.method else None,
                  status=exc.status or None, message=exc.message)

    def _sync_user(self, run: _Run, uid: str, actual: Any, force: bool, fix_memberships: bool,
                   skip_groups: set[str], known_map: Any = _UNREAD) -> Outcome:
        cfg, d = run.cfg, run.d
        user = d.get_user(uid)
        m = self.state.get_map(cfg.slug, "USER", uid) if known_map is _UNREAD else known_map
        provisioned = bool(m and m.get("scim_id"))
        bound = user is not None and d.user_bound(cfg.slug, uid)
        plan = plan_user(user, bound, provisioned, cfg.deprovision)
        if plan.action == "none":
            if m and not provisioned and m.get("status") != "creating":
                self.state.forget(cfg.slug, "USER", uid)
            return Outcome("user", uid, cfg.slug, "no_change", plan.reason)
        if plan.action == "delete":
            return self._delete_user(run, uid, m, plan.reason, fix_memberships)
        if user is None:
            desired = dict((m or {}).get("pushed") or {})
            desired["active"] = False
        else:
            desired = mp.desired_user_state(user, cfg.attribute_mapping, active=plan.action == "active")
        if provisioned:
            out = self._update_user(run, uid, m, desired, plan.reason, actual, force)
        else:
            # Under the reconcile lease no one else creates users for this app, so a user whose
            # item carries no create claim (read after the lease was taken) needs no claim of its own.
            unclaimed = not (m or {}).get("claim_token")
            out = self._create_user(run, uid, desired, plan.reason, actual, leased=unclaimed and self.lease_fresh(run))
        if fix_memberships and cfg.group_management and (out.outcome in ("created", "adopted", "gone") or user is None):
            self.fix_memberships(run, uid, skip_groups)
        return out

    # ---- matching
    def _match_user(self, run: _Run, uid: str, desired: dict) -> dict | None:
        """Find the SP's user for this directory user: userName first, then the configured
        matching attribute. Several hits on one attribute is a permanent problem (say which)."""
        client = run.client
        attempts: list[tuple[str, str]] = []
        if desired.get("userName"):
            attempts.append(("userName", desired["userName"]))
        attr = run.cfg.matching_attribute
        if attr == "emails" and desired.get(mp.WORK_EMAIL):
            attempts.append(("emails.value", desired[mp.WORK_EMAIL]))
        elif attr == "externalId":
            attempts.append(("externalId", uid))
        for name, value in attempts:
            self._count(run)
            hits = client.search("Users", eq_filter(name, value), count=5)
            hits = [h for h in hits if h.get("id")]
            if name == "userName":
                hits = [h for h in hits if str(h.get("userName", "")).casefold() == str(value).casefold()] or hits
            if len(hits) == 1:
                return hits[0]
            if len(hits) > 1:
                raise PermanentError(f"{len(hits)} users in the SP match {name} eq \"{value}\"; cannot choose one",
                                     status=409, method="GET", path="/Users")
        return None

    # ---- create / adopt
    def _create_user(self, run: _Run, uid: str, desired: dict, reason: str, actual: Any, leased: bool = False) -> Outcome:
        """`leased`: the run holds the reconcile lease and the user's item has no claim: create
        without a claim of its own and save the mapping as one (buffered) PutItem."""
        slug = run.cfg.slug
        token = None if leased else self._claim(run, "USER", uid)
        if token is None and not leased:  # someone else finished creating it meanwhile
            m = self.state.get_map(slug, "USER", uid)
            return self._update_user(run, uid, m, desired, reason, None, False)
        try:
            found = None if actual is MISSING else (actual if isinstance(actual, dict) else self._match_user(run, uid, desired))
            if found is not None:
                return self._adopt_user(run, uid, found, desired, token, "adopted")
            if not desired.get("active", True):
                # Nothing in the SP and nothing to switch off.
                if token:
                    self.state.release_claim(slug, "USER", uid, token)
                self.state.forget(slug, "USER", uid)
                return Outcome("user", uid, slug, "gone", "not in the SP; nothing to deactivate")
            payload = mp.build_user_payload(desired)
            try:
                self._count(run)
                resp = run.client.create("Users", payload)
            except Conflict as exc:
                found = self._match_user(run, uid, desired)
                if found is None and run.cfg.matching_attribute != "externalId":
                    self._count(run)
                    hits = run.client.search("Users", eq_filter("externalId", uid), count=2)
                    found = hits[0] if len(hits) == 1 else None
                if found is None:
                    raise PermanentError(f"the SP answered 409 to the create but no user matches: {exc.message}",
                                         status=409, method="POST", path="/Users") from None
                self._log(run, "USER", uid, "create", "conflict", request={"method": "POST", "path": "/Users"},
                          status=409, message=exc.message, detail="adopting the existing user")
                return self._adopt_user(run, uid, found, desired, token, "adopted")
            body = resp.body or {}
            scim_id = body.get("id")
            if not scim_id:
                found = self._match_user(run, uid, desired)
                if not found:
                    raise RetryLater("the SP answered the create without an id and the user cannot be found yet",
                                     method="POST", path="/Users")
                scim_id = found["id"]
            if leased:
                self.state.put_created(slug, "USER", uid, scim_id=scim_id, etag=resp.etag, pushed=desired,
                                       pushed_hash=mp.state_hash(desired), status=STATUS_SYNCED)
                if run.user_maps is not None:
                    run.user_maps[uid] = {"scim_id": scim_id, "status": STATUS_SYNCED, "pushed": desired,
                                          "pushed_hash": mp.state_hash(desired), "entity_id": uid}
                run.extra.setdefault("leased_creates", set()).add(uid)
            else:
                self.state.save_pushed(slug, "USER", uid, scim_id=scim_id, etag=resp.etag, pushed=desired,
                                       pushed_hash=mp.state_hash(desired), status=STATUS_SYNCED, claim_token=token)
            self._log(run, "USER", uid, "create", "success", request={"method": "POST", "path": "/Users", "body": payload},
                      status=resp.status, detail=reason)
            return Outcome("user", uid, slug, "created", reason)
        except BaseException:
            if token:
                self._release(slug, "USER", uid, token)
            raise

    def _adopt_user(self, run: _Run, uid: str, found: dict, desired: dict, token: str | None, outcome: str) -> Outcome:
        slug = run.cfg.slug
        scim_id = found["id"]
        paths = set(desired) | set((run.cfg.attribute_mapping or mp.DEFAULT_USER_MAPPING).keys()) | {"active", "externalId"}
        current = mp.flatten_resource(found, paths)
        resp_etag = None
        changed = mp.changed_paths(current, desired)
        if changed:
            resp_etag = self._push_user_change(run, uid, scim_id, current, desired, "adopt")
        self.state.save_pushed(slug, "USER", uid, scim_id=scim_id, etag=resp_etag, pushed=desired,
                               pushed_hash=mp.state_hash(desired),
                               status=STATUS_SYNCED if desired.get("active", True) else STATUS_DEACTIVATED,
                               claim_token=token)
        self._log(run, "USER", uid, "adopt", "success", detail=f"matched SP user {scim_id}; changed: {', '.join(changed) or 'nothing'}")
        return Outcome("user", uid, slug, outcome, f"SP user {scim_id}")

    def _push_user_change(self, run: _Run, uid: str, scim_id: str, old: dict, new: dict, action: str) -> str | None:
        """Send the change (PATCH, or PUT in put mode). Returns the new ETag if any."""
        if run.cfg.dialect == "put":
            body = {**mp.build_user_payload(new), "id": scim_id}
            self._count(run)
            resp = run.client.replace("Users", scim_id, body)
            self._log(run, "USER", uid, action, "success", request={"method": "PUT", "path": f"/Users/{scim_id}", "body": body},
                      status=resp.status)
            return resp.etag
        ops = mp.user_patch_ops(old, new, run.cfg.dialect)
        if not ops:
            return None
        self._count(run)
        resp = run.client.patch("Users", scim_id, ops)
        self._log(run, "USER", uid, action, "success", request={"method": "PATCH", "path": f"/Users/{scim_id}", "Operations": ops},
                  status=resp.status)
        return resp.etag

    # ---- update
    def _update_user(self, run: _Run, uid: str, m: dict, desired: dict, reason: str, actual: Any, force: bool) -> Outcome:
        slug = run.cfg.slug
        scim_id = m["scim_id"]
        new_hash = mp.state_hash(desired)
        status_after = STATUS_SYNCED if desired.get("active", True) else STATUS_DEACTIVATED
        if actual is None and not force and m.get("pushed_hash") == new_hash and m.get("status") in IN_SYNC:
            return Outcome("user", uid, slug, "no_change", reason)
        if actual is MISSING:
            return self._rematch_user(run, uid, desired, reason, known_missing=True)
        if isinstance(actual, dict) and actual.get("id") and actual["id"] != scim_id:
            # Reconcile found the user under another id (re-created by hand): adopt that one.
            self.state.forget(slug, "USER", uid)
            return self._create_user(run, uid, desired, reason, actual)
        if actual is None and force:
            try:
                self._count(run)
                actual = run.client.get("Users", scim_id)
            except NotFound:
                return self._rematch_user(run, uid, desired, reason)
        paths = set(desired) | set((m.get("pushed") or {}).keys())
        old = mp.flatten_resource(actual, paths | set((run.cfg.attribute_mapping or mp.DEFAULT_USER_MAPPING).keys()) | {"active"}) \
            if isinstance(actual, dict) else (m.get("pushed") or {})
        was_active = old.get("active", True)
        if not mp.changed_paths(old, desired):
            if m.get("pushed_hash") != new_hash or m.get("status") != status_after:
                self.state.save_pushed(slug, "USER", uid, scim_id=scim_id, pushed=desired, pushed_hash=new_hash, status=status_after)
            return Outcome("user", uid, slug, "no_change", reason)
        action = "deactivate" if was_active and not desired.get("active", True) else \
            "reactivate" if not was_active and desired.get("active", True) else "update"
        try:
            etag = self._push_user_change(run, uid, scim_id, old, desired, action)
        except NotFound:
            return self._rematch_user(run, uid, desired, reason)
        except PermanentError as exc:
            if exc.scim_type not in ("noTarget", "invalidPath") or isinstance(actual, dict):
                raise
            # The SP drifted from what we pushed: diff against what it really holds, once.
            self._count(run)
            real = run.client.get("Users", scim_id)
            return self._update_user(run, uid, m, desired, reason, real, force)
        self.state.save_pushed(slug, "USER", uid, scim_id=scim_id, etag=etag, pushed=desired, pushed_hash=new_hash, status=status_after)
        outcome = {"deactivate": "deactivated", "reactivate": "reactivated"}.get(action, "updated")
        return Outcome("user", uid, slug, outcome, reason)

    def _rematch_user(self, run: _Run, uid: str, desired: dict, reason: str, known_missing: bool = False) -> Outcome:
        """The SP lost the user we knew (404): forget the id, re-match, then create."""
        slug = run.cfg.slug
        self._log(run, "USER", uid, "update", "not_found", status=404, detail="the SP no longer has this user; re-matching")
        self.state.forget(slug, "USER", uid)
        return self._create_user(run, uid, desired, reason, MISSING if known_missing else None)

    # ---- delete
    def _delete_user(self, run: _Run, uid: str, m: dict, reason: str, fix_memberships: bool) -> Outcome:
        slug = run.cfg.slug
        scim_id = m["scim_id"]
        try:
            self._count(run)
            run.client.delete("Users", scim_id)
            self._log(run, "USER", uid, "delete", "success", request={"method": "DELETE", "path": f"/Users/{scim_id}"},
                      status=204, detail=reason)
        except NotFound:
            self._log(run, "USER", uid, "delete", "success", status=404, detail="already gone from the SP")
        self.state.forget(slug, "USER", uid)
        if run.user_maps is not None:
            run.user_maps.pop(uid, None)
        if run.cfg.group_management:
            # The SP drops a deleted user from its groups; keep our member sets in step.
            for gid, gm in self.state.maps(slug, "GROUP").items():
                if uid in gm.get("members", ()):
                    self.state.update_members(slug, gid, remove={uid})
        return Outcome("user", uid, slug, "deleted", reason)

    # ---- memberships of one user
    def fix_memberships(self, run: _Run, uid: str, skip_groups: set[str] | None = None) -> None:
        """After a user appears in (or leaves) the SP: add/remove it in the SP groups of the bound
        groups it belongs to, one small PATCH each. Groups not yet in the SP are pushed whole."""
        cfg, d = run.cfg, run.d
        skip = skip_groups or set()
        m = self.state.get_map(cfg.slug, "USER", uid)
        sid = m.get("scim_id") if m else None
        user = d.get_user(uid)
        want = set()
        if sid and user is not None:
            want = {g for g in d.groups_of_user(uid) if d.group_bound(cfg.slug, g)}
        gmaps = self.state.maps(cfg.slug, "GROUP")
        for gid, gm in gmaps.items():
            if gid in skip or not gm.get("scim_id"):
                continue
            has = uid in gm.get("members", ())
            if gid in want and not has:
                self._group_patch(run, gid, gm["scim_id"], add=[(uid, sid)], remove=[])
            elif has and gid not in want and d.group_bound(cfg.slug, gid):
                if sid:
                    self._group_patch(run, gid, gm["scim_id"], add=[], remove=[(uid, sid)])
                else:
                    self.state.update_members(cfg.slug, gid, remove={uid})
        for gid in sorted(want - set(g for g, gm in gmaps.items() if gm.get("scim_id")) - skip):
            self.sync_group(cfg.slug, gid, run=run)

    # ================================================================ groups
    def sync_group(self, slug: str, gid: str, *, d: CachedDirectory | None = None, actual: Any = None,
                   run: _Run | None = None, sp_user_ids: set[str] | None = None) -> Outcome:
        run = run or self._run(slug, d)
        if run is None:
            return Outcome("group", gid, slug, "skipped", "provisioning is off for this app")
        before = run.requests
        try:
            out = self._sync_group(run, gid, actual, sp_user_ids)
        except ScimError as exc:
            permanent = isinstance(exc, (PermanentError, Conflict, NotFound))
            if not isinstance(exc, AuthError):
                try:
                    self.state.set_status(slug, "GROUP", gid, STATUS_FAILED if permanent else STATUS_PENDING, exc.message)
                except Exception:  # noqa: BLE001
                    log.exception("status write failed")
            self._log(run, "GROUP", gid, exc.method or "push", "failed" if permanent else "retry",
                      request={"method": exc.method, "path": exc.path} if exc.method else None,
                      status=exc.status or None, message=exc.message)
            raise
        out.requests = run.requests - before
        return out

    def _desired_members(self, run: _Run, gid: str) -> dict[str, str]:
        """Directory members of the group that the SP knows: uid → scim_id."""
        umaps = self._user_maps(run)
        out = {}
        for uid in run.d.list_members(gid):
            sid = (umaps.get(uid) or {}).get("scim_id")
            if sid:
                out[uid] = sid
        return out

    def _sync_group(self, run: _Run, gid: str, actual: Any, sp_user_ids: set[str] | None) -> Outcome:
        cfg, d = run.cfg, run.d
        slug = cfg.slug
        group = d.get_group(gid)
        gm = self.state.get_map(slug, "GROUP", gid)
        mapped = bool(gm and gm.get("scim_id"))
        bound = group is not None and d.group_bound(slug, gid)
        desired = self._desired_members(run, gid) if (group is not None and bound and cfg.group_management) else {}
        plan = plan_group(group, bound, mapped, len(desired), cfg.group_management)
        if plan.action == "none":
            if gm and not mapped and gm.get("status") != "creating":
                self.state.forget(slug, "GROUP", gid)
            return Outcome("group", gid, slug, "no_change", plan.reason)
        if plan.action == "leave":
            if gm.get("status") != "left":
                self.state.set_status(slug, "GROUP", gid, "left")
            return Outcome("group", gid, slug, "left", plan.reason)
        if plan.action == "delete":
            try:
                self._count(run)
                run.client.delete("Groups", gm["scim_id"])
                self._log(run, "GROUP", gid, "delete", "success", request={"method": "DELETE", "path": f"/Groups/{gm['scim_id']}"},
                          status=204, detail=plan.reason)
            except NotFound:
                self._log(run, "GROUP", gid, "delete", "success", status=404, detail="already gone from the SP")
            self.state.forget(slug, "GROUP", gid)
            return Outcome("group", gid, slug, "deleted", plan.reason)
        name = group["name"]
        if not mapped:
            return self._create_group(run, gid, name, desired, actual)
        if actual is MISSING:
            return self._regroup(run, gid, name, desired)
        if isinstance(actual, dict) and actual.get("id") and actual["id"] != gm["scim_id"]:
            self.state.forget(slug, "GROUP", gid)
            return self._create_group(run, gid, name, desired, actual)
        if isinstance(actual, dict):
            current = self._members_of(run, actual)
            current_name = actual.get("displayName")
        else:
            current = set(gm.get("members") or ())
            current_name = gm.get("display_name")
        try:
            n = self._converge_group(run, gid, gm["scim_id"], name, current_name, desired, current)
        except NotFound:
            return self._regroup(run, gid, name, desired)
        # After converging, the SP holds exactly the desired known members (reconcile read them).
        exact = set(desired) if isinstance(actual, dict) and set(gm.get("members") or ()) != set(desired) else None
        if n or exact is not None or gm.get("status") != STATUS_SYNCED or gm.get("display_name") != name:
            self.state.save_pushed(slug, "GROUP", gid, scim_id=gm["scim_id"], display_name=name, members=exact,
                                   pushed_hash=mp.state_hash({"displayName": name}), status=STATUS_SYNCED)
        return Outcome("group", gid, slug, "updated" if n else "no_change", plan.reason)

    def _members_of(self, run: _Run, resource: dict) -> set[str]:
        """Directory ids of the members an SP group holds (members we don't know are ignored)."""
        by_sid = {m.get("scim_id"): uid for uid, m in self._user_maps(run).items() if m.get("scim_id")}
        out = set()
        for member in resource.get("members") or []:
            uid = by_sid.get(str(member.get("value")))
            if uid:
                out.add(uid)
        return out

    def _converge_group(self, run: _Run, gid: str, scim_id: str, name: str, current_name: str | None,
                        desired: dict[str, str], current: set[str]) -> int:
        """PATCH rename + membership in batches of ≤100; the member set is saved after each batch
        so a retry resumes where it stopped. Returns the number of PATCHes sent."""
        add, remove = member_changes(set(desired), current)
        umaps = self._user_maps(run)
        add_pairs = [(u, desired[u]) for u in add]
        remove_pairs = [(u, (umaps.get(u) or {}).get("scim_id")) for u in remove]
        gone = {u for u, sid in remove_pairs if not sid}
        if gone:  # deleted from the SP with their user: nothing to send
            self.state.update_members(run.cfg.slug, gid, remove=gone)
        remove_pairs = [(u, s) for u, s in remove_pairs if s]
        rename = name if current_name != name else None
        sent = 0
        changes = [("remove", p) for p in remove_pairs] + [("add", p) for p in add_pairs]
        if not changes and rename is None:
            return 0
        for i in range(0, max(1, len(changes)), mp.MAX_MEMBER_CHANGES):
            chunk = changes[i : i + mp.MAX_MEMBER_CHANGES]
            self._group_patch(run, gid, scim_id, add=[p for k, p in chunk if k == "add"],
                              remove=[p for k, p in chunk if k == "remove"], rename=rename if i == 0 else None)
            sent += 1
        return sent

    def _group_patch(self, run: _Run, gid: str, scim_id: str, *, add: list[tuple[str, str]], remove: list[tuple[str, str]],
                     rename: str | None = None) -> None:
        batches = mp.member_patch_batches([s for _, s in add], [s for _, s in remove], run.cfg.dialect
                                          if run.cfg.dialect != "put" else "standard", rename_to=rename)
        assert len(batches) == 1, "callers chunk member changes"
        ops = batches[0]
        self._count(run)
        resp = run.client.patch("Groups", scim_id, ops)
        slug = run.cfg.slug
        self.state.update_members(slug, gid, add={u for u, _ in add}, remove={u for u, _ in remove})
        if rename is not None:
            self.state.save_pushed(slug, "GROUP", gid, scim_id=scim_id, display_name=rename,
                                   pushed_hash=mp.state_hash({"displayName": rename}), status=STATUS_SYNCED)
        self._log(run, "GROUP", gid, "update", "success",
                  request={"method": "PATCH", "path": f"/Groups/{scim_id}", "rename": rename,
                           "add": len(add), "remove": len(remove), "Operations": ops[:5]},
                  status=resp.status)

    def _create_group(self, run: _Run, gid: str, name: str, desired: dict[str, str], actual: Any) -> Outcome:
        slug = run.cfg.slug
        token = self._claim(run, "GROUP", gid)
        if token is None:
            gm = self.state.get_map(slug, "GROUP", gid)
            return self._sync_group(run, gid, None, None) if gm and gm.get("scim_id") else \
                Outcome("group", gid, slug, "no_change", "created meanwhile")
        try:
            found = actual if isinstance(actual, dict) else None
            if found is None and actual is not MISSING:
                found = self._match_group(run, name, gid)
            if found is not None:
                return self._adopt_group(run, gid, name, found, desired, token)
            first = sorted(desired)[: mp.MAX_MEMBER_CHANGES]
            payload = mp.group_payload(name, gid, [desired[u] for u in first])
            try:
                self._count(run)
                resp = run.client.create("Groups", payload)
            except Conflict as exc:
                found = self._match_group(run, name, gid)
                if found is None:
                    raise PermanentError(f"the SP answered 409 to the group create but no group matches: {exc.message}",
                                         status=409, method="POST", path="/Groups") from None
                return self._adopt_group(run, gid, name, found, desired, token)
            scim_id = (resp.body or {}).get("id")
            if not scim_id:
                found = self._match_group(run, name, gid)
                if not found:
                    raise RetryLater("the SP answered the group create without an id", method="POST", path="/Groups")
                scim_id = found["id"]
            self.state.save_pushed(slug, "GROUP", gid, scim_id=scim_id, etag=resp.etag, display_name=name,
                                   pushed_hash=mp.state_hash({"displayName": name}), members=set(first),
                                   status=STATUS_SYNCED, claim_token=token)
            self._log(run, "GROUP", gid, "create", "success",
                      request={"method": "POST", "path": "/Groups", "displayName": name, "members": len(first)},
                      status=resp.status)
        except BaseException:
            self._release(slug, "GROUP", gid, token)
            raise
        rest = {u: desired[u] for u in desired if u not in set(first)}
        if rest:
            self._converge_group(run, gid, scim_id, name, name, desired, set(first))
        return Outcome("group", gid, slug, "created", f"{len(desired)} members")

    def _adopt_group(self, run: _Run, gid: str, name: str, found: dict, desired: dict[str, str], token: str) -> Outcome:
        slug = run.cfg.slug
        scim_id = found["id"]
        if "members" not in found:
            self._count(run)
            found = run.client.get("Groups", scim_id)
        current = self._members_of(run, found)
        self.state.save_pushed(slug, "GROUP", gid, scim_id=scim_id, display_name=found.get("displayName"),
                               members=current, status=STATUS_SYNCED, claim_token=token)
        self._log(run, "GROUP", gid, "adopt", "success", detail=f"took over the SP group {scim_id} ('{found.get('displayName')}')")
        self._converge_group(run, gid, scim_id, name, found.get("displayName"), desired, current)
        self.state.save_pushed(slug, "GROUP", gid, scim_id=scim_id, display_name=name,
                               pushed_hash=mp.state_hash({"displayName": name}), status=STATUS_SYNCED)
        return Outcome("group", gid, slug, "adopted", f"SP group {scim_id}")

    def _match_group(self, run: _Run, name: str, gid: str) -> dict | None:
        self._count(run)
        hits = run.client.search("Groups", eq_filter("displayName", name), count=5, excluded="members")
        hits = [h for h in hits if h.get("id") and str(h.get("displayName", "")).casefold() == name.casefold()] or \
            [h for h in hits if h.get("id")]
        if len(hits) > 1:
            own = [h for h in hits if h.get("externalId") == gid]
            if len(own) == 1:
                return own[0]
            raise PermanentError(f"{len(hits)} groups in the SP are named \"{name}\"; cannot choose one",
                                 status=409, method="GET", path="/Groups")
        return hits[0] if hits else None

    def _regroup(self, run: _Run, gid: str, name: str, desired: dict[str, str]) -> Outcome:
        self._log(run, "GROUP", gid, "update", "not_found", status=404, detail="the SP no longer has this group; re-matching")
        self.state.forget(run.cfg.slug, "GROUP", gid)
        return self._create_group(run, gid, name, desired, None)

    # ================================================================ the reconcile lease
    def take_lease(self, run: _Run) -> bool:
        got = self.state.acquire_lease(run.cfg.slug)
        if got is None:
            return False
        run.lease, until = got
        run.lease_until = until
        return True

    def lease_fresh(self, run: _Run) -> bool:
        return bool(run.lease) and run.lease_until - self.state.clock() >= LEASE_RENEW_BELOW

    def keep_lease(self, run: _Run) -> None:
        """Between two objects of a reconcile: renew the lease once it runs low, after writing what
        is buffered (the mapping items of creates done under it). Lost: go on with claims."""
        if not run.lease or run.lease_until - self.state.clock() >= LEASE_RENEW_BELOW:
            return
        self.state.flush_maps()
        until = self.state.renew_lease(run.cfg.slug, run.lease)
        if until is None:
            log.warning("reconcile lease of %s lapsed; creating with claims from here on", run.cfg.slug)
            run.lease, run.lease_until = None, 0.0
        else:
            run.lease_until = until

    def drop_lease(self, run: _Run) -> None:
        """Release the lease; call only once what was created under it is written."""
        if run.lease:
            token, run.lease, run.lease_until = run.lease, None, 0.0
            try:
                self.state.release_lease(run.cfg.slug, token)
            except Exception:  # noqa: BLE001 - it lapses by itself
                log.exception("lease release failed")

    # ================================================================ claims
    def _claim(self, run: _Run, kind: str, eid: str) -> str | None:
        """Claim the create. Returns a token; None when another worker finished it meanwhile;
        raises Busy while another worker holds a live claim."""
        slug = run.cfg.slug
        waited = 0.0
        while True:
            token = self.state.claim_create(slug, kind, eid)
            if token:
                # Checked after the claim is taken: a reconcile that took its lease before this
                # read saw (after the lease) no claim here, and may be creating this object.
                if self.state.lease_blocks(slug, run.lease):
                    self._release(slug, kind, eid, token)
                    m = self.state.get_map(slug, kind, eid)
                    if m and m.get("scim_id"):
                        return None
                    raise Busy(f"a reconcile of '{slug}' is running; it creates {kind.lower()} {eid}", 2.0)
                return token
            m = self.state.get_map(slug, kind, eid)
            if m and m.get("scim_id"):
                return None
            if waited >= CLAIM_WAIT_SECONDS:
                raise Busy(f"another worker is creating {kind.lower()} {eid}", 2.0)
            self.sleep(0.25)
            waited += 0.25

    def _release(self, slug: str, kind: str, eid: str, token: str) -> None:
        try:
            self.state.release_claim(slug, kind, eid, token)
        except Exception:  # noqa: BLE001
            log.exception("claim release failed")


__all__ = ["Engine", "Outcome", "CachedDirectory", "MISSING", "Busy", "ClaimLost"]
