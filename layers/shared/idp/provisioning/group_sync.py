"""Group sync (group management on): make the SP's copy of one (app, group) match the directory.
Only bound groups; no empty groups; a same-name group is taken over; renames pushed; membership
PATCHes of at most 100 changes, only for members the SP knows; never `replace members`; the
member set is saved after each PATCH so a retry resumes where it stopped.

Membership converges by construction (`settle`): a membership needs both the user and the group in
the SP, and each side records its own existence before it looks for the other. Whichever comes
second adds the membership: after a group is created or taken over, the group side reads the user
mappings and the directory's members again and PATCHes the difference; after a user is created, the
user side adds it to every bound group that exists (`UserSync.fix_memberships`), and leaves a group
whose create is in flight to that create's own re-read. Every consumer that changed a membership
reads the directory again afterwards and sends back what it no longer wants (a group's sync also
compares the recorded member set: `settle`; a user's, its own changes: `UserSync._recheck`), so two
consumers with views of different ages cannot leave the SP on the older one."""
from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger

from idp.provisioning.claims import CreateClaims, InFlight
from idp.provisioning.failures import entity_failed
from idp.provisioning.planner import GroupPlan, member_changes, plan_group
from idp.provisioning.ports import STATUS_SYNCED, MappingStore, ProvisioningLog
from idp.provisioning.run import MISSING, Outcome, Run, SpResource, record
from idp.scim import mapping as mp
from idp.scim.protocol import Conflict, NotFound, PermanentError, RetryLater, ScimError, eq_filter

log = Logger(child=True)

SETTLE_ROUNDS = 4  # re-checks after a membership write before the event is handed back to the queue


class GroupSync:
    def __init__(self, maps: MappingStore, plog: ProvisioningLog, claims: CreateClaims):
        self.maps = maps
        self.plog = plog
        self.claims = claims

    def _record(self, run: Run, gid: str, action: str, outcome: str, **kw: Any) -> None:
        record(self.plog, run, "GROUP", gid, action, outcome, **kw)

    # ---------------------------------------------------------------- entry
    def sync(self, run: Run, gid: str, actual: SpResource = None, sp_user_ids: set[str] | None = None) -> Outcome:
        """See `Engine.sync_group`."""
        before = run.mine()
        try:
            out = self._sync(run, gid, actual, sp_user_ids)
        except ScimError as exc:
            entity_failed(self.maps, self.plog, run, "GROUP", gid, exc)
            raise
        out.requests = run.mine() - before
        return out

    def _desired_members(self, run: Run, gid: str, fresh: bool = True) -> dict[str, str]:
        """Directory members of the group that the SP knows: uid → scim_id. `fresh`: the user
        mappings and the members as they are now (outside a reconcile), not as this run first read them."""
        umaps = run.user_scim_ids(self.maps, fresh=fresh)
        out = {}
        for uid in (run.d.members_now(gid) if fresh and run.lease is None else run.d.list_members(gid)):
            sid = (umaps.get(uid) or {}).get("scim_id")
            if sid:
                out[uid] = sid
        return out

    def _sync(self, run: Run, gid: str, actual: SpResource, sp_user_ids: set[str] | None) -> Outcome:
        cfg, d = run.cfg, run.d
        slug = cfg.slug
        group = d.get_group(gid)
        gm = self.maps.get_map(slug, "GROUP", gid) or {}  # {}: never mapped
        mapped = bool(gm.get("scim_id"))
        bound = group is not None and d.group_bound(slug, gid)
        desired = self._desired_members(run, gid) if (group is not None and bound and cfg.group_management) else {}
        plan = plan_group(group, bound, mapped, len(desired), cfg.group_management)
        if plan.action in ("none", "leave", "delete"):
            return self._without_push(run, gid, gm, plan)
        assert group is not None  # plan_group: a push needs the directory's group
        name = group["name"]
        if not mapped:
            return self._create(run, gid, name, desired, actual)
        if actual is MISSING:
            return self._regroup(run, gid, name, desired)
        if isinstance(actual, dict) and actual.get("id") and actual["id"] != gm["scim_id"]:
            self.maps.forget(slug, "GROUP", gid)
            return self._create(run, gid, name, desired, actual)
        return self._update(run, gid, gm, name, desired, actual, plan)

    def _without_push(self, run: Run, gid: str, gm: dict[str, Any], plan: GroupPlan) -> Outcome:
        """The plans that push no group: nothing to do (a leftover item goes), leave it as it is, or delete it."""
        slug = run.slug
        if plan.action == "none":
            if gm and not gm.get("scim_id"):  # a leftover (failed, abandoned or lapsed create): gone unless in flight
                self.claims.claims.forget_unclaimed(slug, "GROUP", gid)
            return Outcome("group", gid, slug, "no_change", plan.reason)
        if plan.action == "leave":
            if gm.get("status") != "left":
                self.maps.set_status(slug, "GROUP", gid, "left")
            return Outcome("group", gid, slug, "left", plan.reason)
        try:
            run.count()
            run.client.delete("Groups", gm["scim_id"])
            self._record(run, gid, "delete", "success", request={"method": "DELETE", "path": f"/Groups/{gm['scim_id']}"},
                         status=204, detail=plan.reason)
        except NotFound:
            self._record(run, gid, "delete", "success", status=404, detail="already gone from the SP")
        self.maps.forget(slug, "GROUP", gid)
        return Outcome("group", gid, slug, "deleted", plan.reason)

    def _update(self, run: Run, gid: str, gm: dict[str, Any], name: str, desired: dict[str, str], actual: SpResource,
                plan: GroupPlan) -> Outcome:
        """A mapped group in the SP: converge its name and members, then record what it holds."""
        slug = run.slug
        if isinstance(actual, dict):
            current = self._members_of(run, actual)
            current_name = actual.get("displayName")
        else:
            current = set(gm.get("members") or ())
            current_name = gm.get("display_name")
        try:
            n, sent = self._converge(run, gid, gm["scim_id"], name, current_name, desired, current)
            if sent:
                self.settle(run, gid, gm["scim_id"], sent)
        except NotFound:
            return self._regroup(run, gid, name, desired)
        # After converging, the SP holds exactly the desired known members (reconcile read them).
        exact = set(desired) if isinstance(actual, dict) and set(gm.get("members") or ()) != set(desired) else None
        if n or exact is not None or gm.get("status") != STATUS_SYNCED or gm.get("display_name") != name:
            self.maps.save_pushed(slug, "GROUP", gid, scim_id=gm["scim_id"], display_name=name, members=exact,
                                  pushed_hash=mp.state_hash({"displayName": name}), status=STATUS_SYNCED)
        return Outcome("group", gid, slug, "updated" if n else "no_change", plan.reason)

    def _members_of(self, run: Run, resource: dict[str, Any]) -> set[str]:
        """Directory ids of the members an SP group holds (members we don't know are ignored)."""
        by_sid = {m.get("scim_id"): uid for uid, m in run.user_scim_ids(self.maps).items() if m.get("scim_id")}
        out = set()
        for member in resource.get("members") or []:
            uid = by_sid.get(str(member.get("value")))
            if uid:
                out.add(uid)
        return out

    # ---------------------------------------------------------------- membership and rename
    def _converge(self, run: Run, gid: str, scim_id: str, name: str | None, current_name: str | None,
                  desired: dict[str, str], current: set[str]) -> tuple[int, dict[str, bool]]:
        """PATCH rename (`name`: None for none) + membership in batches of ≤100; the member set is saved
        after each batch so a retry resumes where it stopped. Returns the number of PATCHes sent and the
        memberships changed (uid → added; members already gone from the SP as removed)."""
        add, remove = member_changes(set(desired), current)
        umaps = run.user_scim_ids(self.maps)
        add_pairs = [(u, desired[u]) for u in add]
        known = [(u, (umaps.get(u) or {}).get("scim_id")) for u in remove]
        gone = {u for u, sid in known if not sid}
        if gone:  # deleted from the SP with their user: nothing to send
            self.maps.update_members(run.slug, gid, remove=gone)
        remove_pairs = [(u, s) for u, s in known if s]
        rename = name if name is not None and current_name != name else None
        patches = 0
        sent: dict[str, bool] = {u: False for u in gone}
        changes = [("remove", p) for p in remove_pairs] + [("add", p) for p in add_pairs]
        if not changes and rename is None:
            return 0, sent
        for i in range(0, max(1, len(changes)), mp.MAX_MEMBER_CHANGES):
            chunk = changes[i : i + mp.MAX_MEMBER_CHANGES]
            self.patch_members(run, gid, scim_id, add=[p for k, p in chunk if k == "add"],
                               remove=[p for k, p in chunk if k == "remove"], rename=rename if i == 0 else None)
            sent.update({u: k == "add" for k, (u, _) in chunk})
            patches += 1
        return patches, sent

    def settle(self, run: Run, gid: str, scim_id: str, sent: dict[str, bool]) -> None:
        """After this consumer changed the SP group's members (or created or took over the group): read
        the directory's members, the user mappings and the recorded member set again, and PATCH what
        still differs, including any of this consumer's own changes (`sent`: uid → added) that the
        directory no longer wants. Under the reconcile lease the run's view is exact: nothing to do."""
        if run.lease is not None:
            return
        slug = run.slug
        for _ in range(SETTLE_ROUNDS):
            if not run.d.group_bound_now(slug, gid):
                return  # unbound (left as it is) or deleted: the group's own event handles it
            gm = self.maps.get_map(slug, "GROUP", gid)
            if not gm or gm.get("scim_id") != scim_id:
                return  # forgotten or re-created meanwhile: that sync settles it
            want = self._desired_members(run, gid, fresh=True)
            # What the SP holds as far as this consumer knows: the record, with its own changes over it.
            held = set(gm.get("members") or ())
            held |= {u for u, added in sent.items() if added and u not in want}
            held -= {u for u, added in sent.items() if not added and u in want}
            _, changed = self._converge(run, gid, scim_id, None, None, want, held)
            if not changed:
                return
            sent.update(changed)
        raise RetryLater(f"the members of group {gid} kept changing while they were pushed; trying again", 1.0)

    def patch_members(self, run: Run, gid: str, scim_id: str, *, add: list[tuple[str, str]], remove: list[tuple[str, str]],
                      rename: str | None = None) -> None:
        """One PATCH of at most 100 member changes (uid, scim_id) and maybe a rename; then the pushed
        member set (and name) is saved."""
        batches = mp.member_patch_batches([s for _, s in add], [s for _, s in remove], run.cfg.dialect
                                          if run.cfg.dialect != "put" else "standard", rename_to=rename)
        assert len(batches) == 1, "callers chunk member changes"
        ops = batches[0]
        run.count()
        resp = run.client.patch("Groups", scim_id, ops)
        slug = run.slug
        self.maps.update_members(slug, gid, add={u for u, _ in add}, remove={u for u, _ in remove})
        if rename is not None:
            self.maps.save_pushed(slug, "GROUP", gid, scim_id=scim_id, display_name=rename,
                                   pushed_hash=mp.state_hash({"displayName": rename}), status=STATUS_SYNCED)
        self._record(run, gid, "update", "success",
                     request={"method": "PATCH", "path": f"/Groups/{scim_id}", "rename": rename,
                              "add": len(add), "remove": len(remove), "Operations": ops[:5]},
                     status=resp.status)

    # ---------------------------------------------------------------- create / adopt / re-match
    def _create(self, run: Run, gid: str, name: str, desired: dict[str, str], actual: SpResource) -> Outcome:
        slug = run.slug
        try:
            token = self.claims.claim(run, "GROUP", gid)
        except InFlight:  # its creator reads the members again once the group is saved (settle)
            return Outcome("group", gid, slug, "in_flight", "another consumer is creating it right now")
        if token is None:
            gm = self.maps.get_map(slug, "GROUP", gid)
            return self._sync(run, gid, None, None) if gm and gm.get("scim_id") else \
                Outcome("group", gid, slug, "no_change", "created meanwhile")
        try:
            found = actual if isinstance(actual, dict) else None
            if found is None and actual is not MISSING:
                found = self._match(run, name, gid)
            if found is not None:
                return self._adopt(run, gid, name, found, desired, token)
            first = sorted(desired)[: mp.MAX_MEMBER_CHANGES]
            payload = mp.group_payload(name, gid, [desired[u] for u in first])
            try:
                run.count()
                resp = run.client.create("Groups", payload)
            except Conflict as exc:
                found = self._match(run, name, gid)
                if found is None:
                    raise PermanentError(f"the SP answered 409 to the group create but no group matches: {exc.message}",
                                         status=409, method="POST", path="/Groups") from None
                return self._adopt(run, gid, name, found, desired, token)
            scim_id = (resp.body or {}).get("id")
            if not scim_id:
                found = self._match(run, name, gid)
                if not found:
                    raise RetryLater("the SP answered the group create without an id", method="POST", path="/Groups")
                scim_id = found["id"]
            self.maps.save_pushed(slug, "GROUP", gid, scim_id=scim_id, etag=resp.etag, display_name=name,
                                   pushed_hash=mp.state_hash({"displayName": name}), members=set(first),
                                   status=STATUS_SYNCED, claim_token=token)
            self._record(run, gid, "create", "success",
                         request={"method": "POST", "path": "/Groups", "displayName": name, "members": len(first)},
                         status=resp.status)
        except BaseException:
            self.claims.release(slug, "GROUP", gid, token)
            raise
        if run.lease is None:
            # Users created while this create was in flight found no group to join: add them now.
            self.settle(run, gid, scim_id, {u: True for u in first})
        elif len(desired) > len(first):
            self._converge(run, gid, scim_id, name, name, desired, set(first))
        return Outcome("group", gid, slug, "created", f"{len(desired)} members")

    def _adopt(self, run: Run, gid: str, name: str, found: dict[str, Any], desired: dict[str, str], token: str) -> Outcome:
        slug = run.slug
        scim_id = found["id"]
        if "members" not in found:
            run.count()
            found = run.client.get("Groups", scim_id)
        current = self._members_of(run, found)
        self.maps.save_pushed(slug, "GROUP", gid, scim_id=scim_id, display_name=found.get("displayName"),
                               members=current, status=STATUS_SYNCED, claim_token=token)
        self._record(run, gid, "adopt", "success", detail=f"took over the SP group {scim_id} ('{found.get('displayName')}')")
        _, sent = self._converge(run, gid, scim_id, name, found.get("displayName"), desired, current)
        self.maps.save_pushed(slug, "GROUP", gid, scim_id=scim_id, display_name=name,
                               pushed_hash=mp.state_hash({"displayName": name}), status=STATUS_SYNCED)
        self.settle(run, gid, scim_id, sent)  # users created meanwhile found no group to join
        return Outcome("group", gid, slug, "adopted", f"SP group {scim_id}")

    def _match(self, run: Run, name: str, gid: str) -> dict[str, Any] | None:
        run.count()
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

    def _regroup(self, run: Run, gid: str, name: str, desired: dict[str, str]) -> Outcome:
        self._record(run, gid, "update", "not_found", status=404, detail="the SP no longer has this group; re-matching")
        self.maps.forget(run.slug, "GROUP", gid)
        return self._create(run, gid, name, desired, None)
