"""User sync: make the SP's copy of one (app, user) match the directory with the fewest requests.
Match first (`userName eq`, then the app's matching attribute) and adopt, else POST with
externalId; 409 on create → look up and adopt; 404 on update → re-match, then create; PATCH only
the attributes that changed (standard or Entra dialect) or PUT (per app); deactivate with
`active: false`; DELETE only when the directory deleted the user and the app says so; then fix the
user's memberships in the SP groups of its bound groups."""
from __future__ import annotations

from typing import Any, Callable

from aws_lambda_powertools import Logger

from idp.provisioning.claims import CreateClaims, InFlight
from idp.provisioning.failures import entity_failed
from idp.provisioning.group_sync import SETTLE_ROUNDS, GroupSync
from idp.provisioning.lease import ReconcileLease
from idp.provisioning.planner import plan_user
from idp.provisioning.ports import (
    IN_SYNC,
    STATUS_DEACTIVATED,
    STATUS_PENDING,
    STATUS_SYNCED,
    MappingStore,
    ProvisioningLog,
)
from idp.provisioning.run import MISSING, UNREAD, KnownMap, Outcome, Run, SpResource, record
from idp.scim import mapping as mp
from idp.scim.protocol import Conflict, NotFound, PermanentError, RetryLater, ScimError, eq_filter

log = Logger(child=True)


class UserSync:
    def __init__(self, maps: MappingStore, plog: ProvisioningLog, claims: CreateClaims, lease: ReconcileLease,
                 groups: GroupSync, *, clock: Callable[[], float]):
        """`clock`: the wall clock of the create claims (a group whose claim is live is being created)."""
        self.maps = maps
        self.plog = plog
        self.clock = clock
        self.claims = claims
        self.lease = lease
        self.groups = groups

    def _record(self, run: Run, uid: str, action: str, outcome: str, **kw: Any) -> None:
        record(self.plog, run, "USER", uid, action, outcome, **kw)

    # ---------------------------------------------------------------- entry
    def sync(self, run: Run, uid: str, *, actual: SpResource = None, force: bool = False, fix_memberships: bool = True,
             skip_groups: set[str] | None = None, known_map: KnownMap = UNREAD) -> Outcome:
        """See `Engine.sync_user`."""
        before = run.mine()
        try:
            out = self._sync(run, uid, actual, force, fix_memberships, skip_groups or set(), known_map)
        except ScimError as exc:
            entity_failed(self.maps, self.plog, run, "USER", uid, exc)
            raise
        out.requests = run.mine() - before
        return out

    def _sync(self, run: Run, uid: str, actual: SpResource, force: bool, fix_memberships: bool,
              skip_groups: set[str], known_map: KnownMap = UNREAD) -> Outcome:
        cfg, d = run.cfg, run.d
        user = d.get_user(uid)
        m = (self.maps.get_map(cfg.slug, "USER", uid) if known_map is UNREAD else known_map) or {}  # {}: never mapped
        provisioned = bool(m.get("scim_id"))
        bound = user is not None and d.user_bound(cfg.slug, uid)
        plan = plan_user(user, bound, provisioned, cfg.deprovision)
        if plan.action == "none":
            if m and not provisioned:  # a leftover (failed, abandoned or lapsed create): gone unless in flight
                self.claims.claims.forget_unclaimed(cfg.slug, "USER", uid)
            return Outcome("user", uid, cfg.slug, "no_change", plan.reason)
        if plan.action == "delete":
            return self._delete(run, uid, m, plan.reason)
        if user is None:
            desired = dict((m or {}).get("pushed") or {})
            desired["active"] = False
        else:
            desired = mp.desired_user_state(user, cfg.attribute_mapping, active=plan.action == "active")
        if provisioned:
            out = self._update(run, uid, m, desired, plan.reason, actual, force)
        else:
            # Under the reconcile lease no one else creates users for this app, so a user whose
            # item carries no create claim (read after the lease was taken) needs no claim of its own.
            unclaimed = not (m or {}).get("claim_token")
            out = self._create(run, uid, desired, plan.reason, actual, leased=unclaimed and self.lease.fresh(run),
                               mark_memberships=fix_memberships and cfg.group_management)
        pending = bool((m or {}).get("memberships_pending"))
        if fix_memberships and cfg.group_management and (out.outcome in ("created", "adopted", "gone") or user is None or pending):
            # Remembered until done: if a group is mid-create elsewhere (Busy) or its PATCH fails, the
            # user's next delivery applies the memberships even though the user itself is unchanged.
            # A create's own save carries the mark (one write fewer per new user).
            if not pending and not out.memberships_marked:
                self.maps.set_memberships_pending(cfg.slug, uid, True)
            self.fix_memberships(run, uid, skip_groups)
            self.maps.set_memberships_pending(cfg.slug, uid, False)
        return out

    # ---------------------------------------------------------------- match
    def _match(self, run: Run, uid: str, desired: dict[str, Any]) -> dict[str, Any] | None:
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
            run.count()
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

    # ---------------------------------------------------------------- create / adopt
    def _create(self, run: Run, uid: str, desired: dict[str, Any], reason: str, actual: SpResource, leased: bool = False,
                mark_memberships: bool = False) -> Outcome:
        """`leased`: the run holds the reconcile lease and the user's item has no claim: create
        without a claim of its own and save the mapping as one (buffered) PutItem. `mark_memberships`:
        a claimed create's save also marks the memberships as pending (`Outcome.memberships_marked`)."""
        slug = run.slug
        try:
            token = None if leased else self.claims.claim(run, "USER", uid)
        except InFlight:
            # Another consumer is creating the user from a view that also has it bound and active; it
            # applies the memberships once its create is saved (fix_memberships reads them afresh).
            return Outcome("user", uid, slug, "in_flight", "another consumer is creating it right now")
        if token is None and not leased:  # someone else finished creating it meanwhile
            m = self.maps.get_map(slug, "USER", uid) or {}
            return self._update(run, uid, m, desired, reason, None, False)
        try:
            return self._create_claimed(run, uid, desired, reason, actual, token, leased, mark_memberships)
        except BaseException:
            if token:
                self.claims.release(slug, "USER", uid, token)
            raise

    def _create_claimed(self, run: Run, uid: str, desired: dict[str, Any], reason: str, actual: SpResource, token: str | None,
                        leased: bool, mark_memberships: bool) -> Outcome:
        """Under the claim (or the lease): match before create and adopt, else POST (adopt on 409) and save."""
        slug = run.slug
        found = None if actual is MISSING else (actual if isinstance(actual, dict) else self._match(run, uid, desired))
        if found is not None:
            return self._adopt(run, uid, found, desired, token, "adopted", mark_memberships)
        if not desired.get("active", True):
            # Nothing in the SP and nothing to switch off.
            if token:
                self.claims.claims.release_claim(slug, "USER", uid, token)
            self.maps.forget(slug, "USER", uid)
            return Outcome("user", uid, slug, "gone", "not in the SP; nothing to deactivate")
        payload = mp.build_user_payload(desired)
        try:
            run.count()
            resp = run.client.create("Users", payload)
        except Conflict as exc:
            return self._adopt_on_conflict(run, uid, desired, token, mark_memberships, exc)
        body = resp.body or {}
        scim_id = body.get("id")
        if not scim_id:
            found = self._match(run, uid, desired)
            if not found:
                raise RetryLater("the SP answered the create without an id and the user cannot be found yet",
                                 method="POST", path="/Users")
            scim_id = found["id"]
        self._save_created(run, uid, desired, scim_id, resp.etag, token, leased, mark_memberships)
        self._record(run, uid, "create", "success", request={"method": "POST", "path": "/Users", "body": payload},
                     status=resp.status, detail=reason)
        return Outcome("user", uid, slug, "created", reason, memberships_marked=mark_memberships and not leased)

    def _adopt_on_conflict(self, run: Run, uid: str, desired: dict[str, Any], token: str | None, mark_memberships: bool,
                           exc: Conflict) -> Outcome:
        """The SP answered 409 to the create: look the user up (the matching attribute, then externalId) and adopt it."""
        found = self._match(run, uid, desired)
        if found is None and run.cfg.matching_attribute != "externalId":
            run.count()
            hits = run.client.search("Users", eq_filter("externalId", uid), count=2)
            found = hits[0] if len(hits) == 1 else None
        if found is None:
            raise PermanentError(f"the SP answered 409 to the create but no user matches: {exc.message}",
                                 status=409, method="POST", path="/Users") from None
        self._record(run, uid, "create", "conflict", request={"method": "POST", "path": "/Users"},
                     status=409, message=exc.message, detail="adopting the existing user")
        return self._adopt(run, uid, found, desired, token, "adopted", mark_memberships)

    def _save_created(self, run: Run, uid: str, desired: dict[str, Any], scim_id: str, etag: str | None, token: str | None,
                      leased: bool, mark_memberships: bool) -> None:
        """The created user's mapping item: under the lease one buffered PutItem (and the run's copy), else a save
        that holds only while the claim is ours."""
        slug = run.slug
        if leased:
            self.maps.put_created(slug, "USER", uid, scim_id=scim_id, etag=etag, pushed=desired,
                                  pushed_hash=mp.state_hash(desired), status=STATUS_SYNCED)
            if run.user_maps is not None:
                run.user_maps[uid] = {"scim_id": scim_id, "status": STATUS_SYNCED, "pushed": desired,
                                      "pushed_hash": mp.state_hash(desired), "entity_id": uid}
            run.leased_creates.add(uid)
        else:
            self.maps.save_pushed(slug, "USER", uid, scim_id=scim_id, etag=etag, pushed=desired,
                                  pushed_hash=mp.state_hash(desired), status=STATUS_SYNCED, claim_token=token,
                                  memberships_pending=mark_memberships)

    def _adopt(self, run: Run, uid: str, found: dict[str, Any], desired: dict[str, Any], token: str | None, outcome: str,
               mark_memberships: bool = False) -> Outcome:
        slug = run.slug
        scim_id = found["id"]
        paths = set(desired) | set((run.cfg.attribute_mapping or mp.DEFAULT_USER_MAPPING).keys()) | {"active", "externalId"}
        current = mp.flatten_resource(found, paths)
        resp_etag = None
        changed = mp.changed_paths(current, desired)
        if changed:
            resp_etag = self._push_change(run, uid, scim_id, current, desired, "adopt")
        self.maps.save_pushed(slug, "USER", uid, scim_id=scim_id, etag=resp_etag, pushed=desired,
                               pushed_hash=mp.state_hash(desired),
                               status=STATUS_SYNCED if desired.get("active", True) else STATUS_DEACTIVATED,
                               claim_token=token, memberships_pending=mark_memberships)
        self._record(run, uid, "adopt", "success", detail=f"matched SP user {scim_id}; changed: {', '.join(changed) or 'nothing'}")
        return Outcome("user", uid, slug, outcome, f"SP user {scim_id}", memberships_marked=mark_memberships)

    def _push_change(self, run: Run, uid: str, scim_id: str, old: dict[str, Any], new: dict[str, Any], action: str) -> str | None:
        """Send the change (PATCH, or PUT in put mode). Returns the new ETag if any."""
        if run.cfg.dialect == "put":
            body = {**mp.build_user_payload(new), "id": scim_id}
            run.count()
            resp = run.client.replace("Users", scim_id, body)
            self._record(run, uid, action, "success", request={"method": "PUT", "path": f"/Users/{scim_id}", "body": body},
                         status=resp.status)
            return resp.etag
        ops = mp.user_patch_ops(old, new, run.cfg.dialect)
        if not ops:
            return None
        run.count()
        resp = run.client.patch("Users", scim_id, ops)
        self._record(run, uid, action, "success", request={"method": "PATCH", "path": f"/Users/{scim_id}", "Operations": ops},
                     status=resp.status)
        return resp.etag

    # ---------------------------------------------------------------- update / re-match
    def _update(self, run: Run, uid: str, m: dict[str, Any], desired: dict[str, Any], reason: str, actual: Any, force: bool) -> Outcome:
        slug = run.slug
        scim_id = m["scim_id"]
        new_hash = mp.state_hash(desired)
        status_after = STATUS_SYNCED if desired.get("active", True) else STATUS_DEACTIVATED
        if actual is None and not force and m.get("pushed_hash") == new_hash and m.get("status") in IN_SYNC:
            return Outcome("user", uid, slug, "no_change", reason)
        if actual is MISSING:
            return self._rematch(run, uid, desired, reason, known_missing=True)
        if isinstance(actual, dict) and actual.get("id") and actual["id"] != scim_id:
            # Reconcile found the user under another id (re-created by hand): adopt that one.
            self.maps.forget(slug, "USER", uid)
            return self._create(run, uid, desired, reason, actual)
        if actual is None and force:
            try:
                run.count()
                actual = run.client.get("Users", scim_id)
            except NotFound:
                return self._rematch(run, uid, desired, reason)
        paths = set(desired) | set((m.get("pushed") or {}).keys())
        old = mp.flatten_resource(actual, paths | set((run.cfg.attribute_mapping or mp.DEFAULT_USER_MAPPING).keys()) | {"active"}) \
            if isinstance(actual, dict) else (m.get("pushed") or {})
        was_active = old.get("active", True)
        if not mp.changed_paths(old, desired):
            if m.get("pushed_hash") != new_hash or m.get("status") != status_after:
                self.maps.save_pushed(slug, "USER", uid, scim_id=scim_id, pushed=desired, pushed_hash=new_hash, status=status_after)
            return Outcome("user", uid, slug, "no_change", reason)
        action = "deactivate" if was_active and not desired.get("active", True) else \
            "reactivate" if not was_active and desired.get("active", True) else "update"
        try:
            etag = self._push_change(run, uid, scim_id, old, desired, action)
        except NotFound:
            return self._rematch(run, uid, desired, reason)
        except PermanentError as exc:
            if exc.scim_type not in ("noTarget", "invalidPath") or isinstance(actual, dict):
                raise
            # The SP drifted from what we pushed: diff against what it really holds, once.
            run.count()
            real = run.client.get("Users", scim_id)
            return self._update(run, uid, m, desired, reason, real, force)
        self.maps.save_pushed(slug, "USER", uid, scim_id=scim_id, etag=etag, pushed=desired, pushed_hash=new_hash, status=status_after)
        outcome = {"deactivate": "deactivated", "reactivate": "reactivated"}.get(action, "updated")
        return Outcome("user", uid, slug, outcome, reason)

    def _rematch(self, run: Run, uid: str, desired: dict[str, Any], reason: str, known_missing: bool = False) -> Outcome:
        """The SP lost the user we knew (404): forget the id, re-match, then create."""
        self._record(run, uid, "update", "not_found", status=404, detail="the SP no longer has this user; re-matching")
        self.maps.forget(run.slug, "USER", uid)
        return self._create(run, uid, desired, reason, MISSING if known_missing else None)

    # ---------------------------------------------------------------- delete
    def _delete(self, run: Run, uid: str, m: dict[str, Any], reason: str) -> Outcome:
        slug = run.slug
        scim_id = m["scim_id"]
        try:
            run.count()
            run.client.delete("Users", scim_id)
            self._record(run, uid, "delete", "success", request={"method": "DELETE", "path": f"/Users/{scim_id}"},
                         status=204, detail=reason)
        except NotFound:
            self._record(run, uid, "delete", "success", status=404, detail="already gone from the SP")
        self.maps.forget(slug, "USER", uid)
        if run.user_maps is not None:
            run.user_maps.pop(uid, None)
        if run.cfg.group_management:
            # The SP drops a deleted user from its groups; keep our member sets in step.
            for gid, gm in self.maps.maps(slug, "GROUP").items():
                if uid in gm.get("members", ()):
                    self.maps.update_members(slug, gid, remove={uid})
        return Outcome("user", uid, slug, "deleted", reason)

    # ---------------------------------------------------------------- memberships of one user
    def fix_memberships(self, run: Run, uid: str, skip_groups: set[str] | None = None) -> None:
        """After a user appears in (or leaves) the SP: add/remove it in the SP groups of the bound
        groups it belongs to, one small PATCH each, then check what it sent against the directory as it
        is after those writes (`_recheck`). A bound group not yet in the SP is pushed whole, unless
        another consumer is creating it right now: that create reads the members again once it is
        saved, and adds this user (the user's mapping is saved before this runs)."""
        cfg, d = run.cfg, run.d
        skip = skip_groups or set()
        m = self.maps.get_map(cfg.slug, "USER", uid)
        sid: str = (m.get("scim_id") if m else None) or ""  # "": not in the SP
        user = d.get_user(uid)
        want: set[str] = set()
        fresh = run.lease is None  # outside a reconcile: the directory as it is now, read after the user's save
        if sid and user is not None and fresh:
            want = set(d.groups_of_user_now(uid)) & set(d.app_groups_now(cfg.slug))
        elif sid and user is not None:
            want = {g for g in d.groups_of_user(uid) if d.group_bound(cfg.slug, g)}
        gmaps = self.maps.maps(cfg.slug, "GROUP")
        sent: dict[str, tuple[str, bool]] = {}  # gid -> (its SP id, added)
        for gid, gm in gmaps.items():
            if gid in skip or not gm.get("scim_id"):
                continue
            has = uid in gm.get("members", ())
            if gid in want and not has:
                self.groups.patch_members(run, gid, gm["scim_id"], add=[(uid, sid)], remove=[])
                sent[gid] = (gm["scim_id"], True)
            elif has and gid not in want and d.group_bound(cfg.slug, gid):
                if sid:
                    self.groups.patch_members(run, gid, gm["scim_id"], add=[], remove=[(uid, sid)])
                    sent[gid] = (gm["scim_id"], False)
                else:
                    self.maps.update_members(cfg.slug, gid, remove={uid})
        if sent and fresh:
            self._recheck(run, uid, sid, sent)
        now = self.clock()
        in_flight = {g for g, gm in gmaps.items() if not gm.get("scim_id") and float(gm.get("claim_until") or 0) >= now}
        # A bound group not in the SP yet is pushed whole; so is one in the SP whose last push is still pending (this
        # user's earlier delivery may have created it and then met members still changing: nothing else pushes it
        # again, and its status would say pending while the SP holds it).
        mapped = {g for g, gm in gmaps.items() if gm.get("scim_id")}
        unsettled = {g for g in mapped if gmaps[g].get("status") == STATUS_PENDING}
        for gid in sorted(((want - mapped - in_flight) | (want & unsettled)) - skip):
            self.groups.sync(run, gid)

    def _recheck(self, run: Run, uid: str, sid: str, sent: dict[str, tuple[str, bool]]) -> None:
        """Membership changes sent from a view another consumer may have overtaken: read the user's
        groups again (after the writes) and send back what the directory no longer wants, until what
        was sent is what it wants. (Another consumer's writes are that consumer's to check.)"""
        for _ in range(SETTLE_ROUNDS):
            member_of = set(run.d.groups_of_user_now(uid))
            wrong = {gid: (scim_id, gid in member_of) for gid, (scim_id, added) in sent.items() if added != (gid in member_of)}
            if not wrong:
                return
            for gid, (scim_id, add) in wrong.items():
                self.groups.patch_members(run, gid, scim_id, add=[(uid, sid)] if add else [],
                                          remove=[] if add else [(uid, sid)])
                sent[gid] = (scim_id, add)
        raise RetryLater(f"the groups of user {uid} kept changing while they were pushed; trying again", 1.0)
