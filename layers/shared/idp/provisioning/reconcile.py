"""Full reconciliation of an app (walk every bound user and group, read the SP, repair drift made by
hand), with a guard that stops for an administrator when one run would deactivate or delete more
than a configured share of the users; Test Connection; provision one user on demand.
The users, then the groups, are synced by up to the app's `max_concurrency` workers at once
(`idp.provisioning.parallel`: one object per worker, a 429 pauses them all, the first failure that is
not one object's own stops them all, the breaker is read while the run goes on).
This module is longer than 400 lines because the reconcile's passes (guard, users, snapshots, groups), Test
Connection, the activation test and the push on demand share the reconciler's ports and its answers per failure
class (RESULT_OF); each pass is a method of its own."""
from __future__ import annotations

import contextlib
from typing import Any, Callable, Iterator

from aws_lambda_powertools import Logger

from idp.provisioning.activation import run_activation_test, step
from idp.provisioning.engine import Engine
from idp.provisioning.failures import AppOutcomes, FailureClass
from idp.provisioning.parallel import Pace, PacedClient, for_each, pacing
from idp.provisioning.planner import ProvisioningConfig, exceeds_deprovision_guard, plan_user
from idp.provisioning.policy import BreakerSettings
from idp.provisioning.ports import STATUS_SYNCED
from idp.provisioning.run import MISSING, CachedDirectory, Outcome, Run, SpResource
from idp.scim import mapping as mp
from idp.scim.protocol import (
    AuthError,
    BadAnswer,
    BudgetSpent,
    NotFound,
    PermanentError,
    RetryLater,
    ScimError,
    list_resources,
)

log = Logger(child=True)

RESUME_AFTER_SECONDS = 1.0  # a sync cut by the invocation's time after some progress comes back this soon

# What a reconcile or a push on demand answers, per failure class.
RESULT_OF = {FailureClass.AUTH: "auth_failed", FailureClass.TRANSIENT: "retry_later",
             FailureClass.THROTTLED: "retry_later", FailureClass.PERMANENT: "failed"}


def unexpected(slug: str, exc: BaseException) -> str:
    """What to say of an exception that is not a classified SCIM failure (an SP answer the checks missed, or a bug)."""
    return f"{type(exc).__name__} while provisioning '{slug}' (the SP's answer could not be used): {str(exc)[:300]}"


class Reconciler:
    def __init__(self, engine: Engine, breaker: BreakerSettings | None = None):
        self.engine = engine
        stores = engine.stores  # the ports of the provisioning state this part uses
        self.buffer, self.mappings, self.status = stores.buffer, stores.mappings, stores.status
        self.access, self.plog = stores.access, stores.log
        self.breaker = breaker or BreakerSettings()
        self.outcomes = AppOutcomes(engine, self.breaker)

    # ---------------------------------------------------------------- full sync
    def reconcile_app(self, slug: str, *, force: bool = False) -> dict[str, Any]:
        """Make the SP equal to the directory for one app. `force=True` is the administrator's
        go-ahead past the deprovisioning guard."""
        engine = self.engine
        d = CachedDirectory(engine.directory)
        cfg = engine.config(slug, d)
        if not cfg or not cfg.enabled:
            return {"app": slug, "result": "skipped", "reason": "provisioning is not enabled for this app"}
        run = engine.open_run(slug, d)
        if run is None:  # turned off since the line above read it
            return {"app": slug, "result": "skipped", "reason": "provisioning is not enabled for this app"}
        # The lease before the mapping items are read: a consumer that claims a create after this
        # sees the lease and backs off; one that claimed before shows its claim in what is read
        # below, and that user is created the usual way (with a claim). Held by another reconcile
        # (or unavailable): every create takes its own claim, as without a lease.
        pace = Pace(slug, clock=engine.budget.clock, sleep=engine.budget.sleep,
                    breaker_open_for=lambda: self.status.breaker_open_for(self.status.app_status(slug)))
        run.client = PacedClient(run.client, pace)
        engine.take_lease(run)
        try:
            with self.buffer.buffered(), pacing(pace):
                summary = self._reconcile(run, slug, cfg, d, force)
        except BaseException as exc:
            # Written what it could (the buffers flush on the way out); if that failed, the
            # lease lapses by itself rather than let a consumer create what is not yet recorded.
            if self.buffer.pending() == 0 and not run.unwritten:
                engine.drop_lease(run)
            if isinstance(exc, BudgetSpent) and exc.delay_seconds is None and run.synced:
                # A long sync the invocation's time cut after it got on: the next one resumes it at once
                # (the objects done are in sync and cost no request), not after a growing backoff.
                raise BudgetSpent(f"{exc.message}; the sync resumes where it stopped", RESUME_AFTER_SECONDS,
                                  status=exc.status, method=exc.method, path=exc.path) from exc
            raise
        engine.drop_lease(run)
        return summary

    @contextlib.contextmanager
    def _worker_scope(self, run: Run) -> Iterator[None]:
        """A worker's own write buffer (per thread), written when it ends; a failed write keeps the lease
        (it lapses by itself rather than let a consumer create what is not recorded)."""
        try:
            with self.buffer.buffered():
                yield
        except BaseException:
            run.unwritten = True
            raise

    def _each(self, run: Run, items: list[str], work: Callable[[str], Any]) -> list[Any]:
        """`work(item)` for each item by up to the app's `max_concurrency` workers (parallel.for_each); each
        object done is noted in `run.synced`."""
        pace = run.client.pace if isinstance(run.client, PacedClient) else Pace(run.slug)
        synced = run.synced

        def step(item: str) -> Any:
            got = work(item)
            synced.append(item)
            return got

        return for_each(items, step, concurrency=run.cfg.max_concurrency, pace=pace,
                        worker_scope=lambda: self._worker_scope(run))

    def _reconcile(self, run: Run, slug: str, cfg: ProvisioningConfig, d: CachedDirectory, force: bool) -> dict[str, Any]:
        """The whole pass: the guard, the users, the bound groups' snapshots, the groups, the app's status."""
        umaps = self.mappings.maps(slug, "USER")
        run.user_maps = umaps
        bound_groups = set(d.app_group_bindings(slug))
        bound_users = set(d.app_user_bindings(slug))
        for gid in bound_groups:
            bound_users.update(d.list_members(gid))
        candidates = sorted(bound_users | set(umaps))
        plans, active_now, would_deprovision = self._plans(slug, cfg, d, candidates, umaps)
        if not force and exceeds_deprovision_guard(would_deprovision, active_now, cfg.max_deprovision_share,
                                                   cfg.deprovision_guard_min):
            return self._halt(slug, cfg, would_deprovision, active_now)
        if self.status.app_status(slug).get("state") == "halted":
            self.status.reset_app(slug)

        summary: dict[str, Any] = {"app": slug, "result": "reconciled", "users": {}, "groups": {}, "failed": []}
        maps_stale = self._sync_users(run, cfg, d, candidates, plans, umaps, summary)
        if not summary["failed"]:
            # Every bound group's members as this run saw them, where no snapshot is yet, so the first membership
            # event after it compares against them instead of syncing every member again. Only where none is: a
            # consumer's snapshot written meanwhile is newer, and overwriting it could hide who lost access.
            for gid in sorted(bound_groups):
                self.access.put_access_snapshot(slug, gid, set(d.list_members(gid)), only_if_absent=True)
        if cfg.group_management:
            self._sync_groups(run, d, bound_groups, maps_stale, summary)
        summary["requests"] = run.requests
        self.status.note_reconcile(slug, {k: v for k, v in summary.items() if k in ("users", "groups", "requests")}
                                   | {"failed": len(summary["failed"])})
        return summary

    @staticmethod
    def _plans(slug: str, cfg: ProvisioningConfig, d: CachedDirectory, candidates: list[str],
               umaps: dict[str, dict[str, Any]]) -> tuple[dict[str, Any], int, int]:
        """The guard's count first: each user's plan, the users provisioned and synced now, and how many of
        them this run would switch off."""
        plans = {}
        active_now = 0
        would_deprovision = 0
        for uid in candidates:
            m = umaps.get(uid) or {}
            provisioned = bool(m.get("scim_id"))
            user = d.get_user(uid)
            plan = plan_user(user, user is not None and d.user_bound(slug, uid), provisioned, cfg.deprovision)
            plans[uid] = plan
            if provisioned and m.get("status") == STATUS_SYNCED:
                active_now += 1
                if plan.action in ("inactive", "delete"):
                    would_deprovision += 1
        return plans, active_now, would_deprovision

    def _halt(self, slug: str, cfg: ProvisioningConfig, would_deprovision: int, active_now: int) -> dict[str, Any]:
        """The guard stops the run for an administrator (nothing was sent)."""
        reason = (f"stopped: this run would deactivate or delete {would_deprovision} of {active_now} provisioned "
                  f"users (more than {cfg.max_deprovision_share:.0%}). Check the bindings, then confirm with "
                  f"POST /admin/apps/{slug}/provisioning/sync {{\"confirm\": true}}.")
        self.status.set_halted(slug, reason)
        self.plog.log(slug, "USER", "*", action="reconcile", outcome="halted", detail=reason)
        return {"app": slug, "result": "halted", "reason": reason, "would_deprovision": would_deprovision,
                "active": active_now, "requests": 0}

    def _sync_users(self, run: Run, cfg: ProvisioningConfig, d: CachedDirectory, candidates: list[str],
                    plans: dict[str, Any], umaps: dict[str, dict[str, Any]], summary: dict[str, Any]) -> bool:
        """Every candidate user against the SP's listing; their outcomes and failures in `summary`. True when
        the mapping items read before may be stale now (the group pass reads them again)."""
        engine, slug = self.engine, run.slug
        sp_users = list(run.client.iterate("Users"))
        run.count(max(1, -(-len(sp_users) // 100)))
        by_id = {str(u.get("id")): u for u in sp_users if u.get("id")}
        by_name = {str(u.get("userName", "")).casefold(): u for u in sp_users if u.get("userName")}
        maps_stale = not run.lease  # without the lease, consumers may have created users meanwhile
        leased_creates = run.leased_creates

        def user_step(uid: str) -> tuple[Outcome | None, str | None]:
            m = umaps.get(uid) or {}
            actual: SpResource
            if m.get("scim_id"):
                actual = by_id.get(m["scim_id"])
                if actual is None:
                    actual = self._by_username(d, cfg, uid, by_name) or MISSING
            elif plans[uid].action == "active":
                actual = self._by_username(d, cfg, uid, by_name) or (None if cfg.matching_attribute in ("emails", "externalId") else MISSING)
            else:
                actual = None
            self._keep_lease(run)
            try:
                return engine.sync_user(slug, uid, run=run, actual=actual, fix_memberships=False, known_map=umaps.get(uid)), None
            except PermanentError as exc:
                return None, exc.message

        for uid, (out, error) in zip(candidates, self._each(run, candidates, user_step)):
            if out is None:
                summary["failed"].append({"user_id": uid, "error": error})
                maps_stale = True
                continue
            summary["users"][out.outcome] = summary["users"].get(out.outcome, 0) + 1
            if out.outcome != "no_change" and uid not in leased_creates:
                maps_stale = True
        return maps_stale

    def _sync_groups(self, run: Run, d: CachedDirectory, bound_groups: set[str], maps_stale: bool,
                     summary: dict[str, Any]) -> None:
        """Every bound or mapped group against the SP's listing; their outcomes and failures in `summary`."""
        engine, slug = self.engine, run.slug
        # The SP ids of everyone created or re-matched above: the in-memory items when every
        # user was left as it was or created under the lease (which keeps other consumers from
        # creating any), else read afresh (only `scim_id`: the group work reads nothing else).
        if maps_stale or not run.lease:
            run.user_maps = self.mappings.maps(slug, "USER", attributes=("scim_id",))
        sp_groups = list(run.client.iterate("Groups"))
        run.count(max(1, -(-len(sp_groups) // 100)))
        gby_id = {str(g.get("id")): g for g in sp_groups if g.get("id")}
        gby_name: dict[str, list[Any]] = {}
        for g in sp_groups:
            gby_name.setdefault(str(g.get("displayName", "")).casefold(), []).append(g)
        gmaps = self.mappings.maps(slug, "GROUP")

        def group_step(gid: str) -> tuple[Outcome | None, str | None]:
            actual = self._group_in_sp(gmaps.get(gid) or {}, d.get_group(gid), gby_id, gby_name)
            self._keep_lease(run)
            try:
                return engine.sync_group(slug, gid, run=run, actual=actual), None
            except PermanentError as exc:
                return None, exc.message

        gids = sorted(bound_groups | set(gmaps))
        for gid, (out, error) in zip(gids, self._each(run, gids, group_step)):
            if out is None:
                summary["failed"].append({"group_id": gid, "error": error})
                continue
            summary["groups"][out.outcome] = summary["groups"].get(out.outcome, 0) + 1

    @staticmethod
    def _group_in_sp(gm: dict[str, Any], group: dict[str, Any] | None, gby_id: dict[str, dict[str, Any]], gby_name: dict[str, list[Any]]) -> SpResource:
        """The SP's group for a mapping item and the directory's group: by its SP id, else the one of the same name
        (MISSING: not in the SP; None: several of that name, or neither side has it)."""
        if gm.get("scim_id"):
            actual = gby_id.get(gm["scim_id"])
            if actual is None and group is not None:
                same = gby_name.get(group["name"].casefold()) or []
                return same[0] if len(same) == 1 else MISSING
            return MISSING if actual is None else actual
        if group is not None:
            same = gby_name.get(group["name"].casefold()) or []
            return same[0] if len(same) == 1 else (None if same else MISSING)
        return None

    def _keep_lease(self, run: Run) -> None:
        """Between two objects: renew the lease when it runs low; once it is lost, this worker writes the
        creates it holds at once (they were made under the lease; from now on creates take claims)."""
        self.engine.keep_lease(run)
        if run.lease is None:
            self.buffer.flush_maps()

    def _by_username(self, d: CachedDirectory, cfg: ProvisioningConfig, uid: str, by_name: dict[str, Any]) -> dict[str, Any] | None:
        user = d.get_user(uid)
        if user is None:
            return None
        desired = mp.desired_user_state(user, cfg.attribute_mapping)
        name = desired.get("userName")
        return by_name.get(str(name).casefold()) if name else None

    def run_scheduled(self) -> dict[str, Any]:
        """Reconcile every provisioning-enabled app whose breaker is closed (the schedule)."""
        results = {}
        d = CachedDirectory(self.engine.directory)
        for cfg in self.engine.enabled_apps(d):
            status = self.status.app_status(cfg.slug)
            if self.status.breaker_open_for(status) > 0:
                results[cfg.slug] = {"result": "skipped", "reason": status.get("reason") or "circuit open"}
                continue
            try:
                results[cfg.slug] = self.reconcile_app(cfg.slug)
            except Exception as exc:  # one app never skips the next (contract section 4)
                if not isinstance(exc, ScimError) and self.engine.aws_unavailable(exc) is not None:  # ours: next run
                    log.warning("reconcile of %s waits for AWS: %s", cfg.slug, type(exc).__name__, extra={"app": cfg.slug})
                    results[cfg.slug] = {"result": "retry", "reason": "AWS was unavailable; the next run tries again"}
                    continue
                if not isinstance(exc, ScimError):
                    log.exception("reconcile of %s failed unexpectedly", cfg.slug, extra={"app": cfg.slug})
                    exc = BadAnswer(unexpected(cfg.slug, exc))
                cls = self.outcomes.failed(cfg.slug, exc)
                results[cfg.slug] = {"result": RESULT_OF[cls], "reason": exc.message}
        return results

    def sync_now(self, slug: str, *, confirm: bool = False) -> dict[str, Any]:
        """POST .../provisioning/sync: give a failing app a fresh chance, reconcile it, and answer the
        summary, or what failed (never raising: a hostile SP's answer is its failure, not a 5xx)."""
        try:
            if self.status.app_status(slug).get("state") in ("auth_failed", "failing"):
                self.engine.credentials_failed(slug)
                self.status.reset_app(slug)
            summary = self.reconcile_app(slug, force=confirm)
        except Exception as exc:  # whatever failed is the sync's answer (a SCIM error as is, else BadAnswer), never a 5xx
            if not isinstance(exc, ScimError) and self.engine.aws_unavailable(exc) is not None:
                raise  # our own AWS, not the SP: the admin API answers 503 with Retry-After (contract section 13)
            if not isinstance(exc, ScimError):
                log.exception("sync of %s failed unexpectedly", slug, extra={"app": slug})
                exc = BadAnswer(unexpected(slug, exc))
            cls = self.outcomes.failed(slug, exc)
            return {"ok": False, "result": RESULT_OF[cls], "detail": exc.message}
        return {"ok": summary.get("result") == "reconciled" and not summary.get("failed"), **summary}

    def note_failure(self, slug: str, exc: ScimError) -> FailureClass:
        """An SP failure in the app's status, by its class (idp.provisioning.failures.AppOutcomes)."""
        return self.outcomes.failed(slug, exc)

    # ---------------------------------------------------------------- test connection
    def test_connection(self, slug: str) -> dict[str, Any]:
        """Authenticate and list one user; say exactly what failed."""
        cfg = self.engine.config(slug)
        if cfg is None:
            return {"ok": False, "detail": f"provisioning is not configured for '{slug}': PUT /admin/apps/{slug}/provisioning first"}
        token = self.engine.clients.tokens(slug, True)
        if not token:
            return {"ok": False, "detail": "no SCIM token is set for this app"}
        client = self.engine.clients.factory(cfg.base_url, token, timeout=(5, 15))
        where = f"{cfg.base_url}/Users"
        try:
            body = client.request("GET", "/Users", params={"startIndex": 1, "count": 1}).body or {}
            list_resources(body, "/Users")  # a list of resources with usable ids, or a BadAnswer naming it
        except AuthError as exc:
            return {"ok": False, "detail": f"authentication failed: {where} answered {exc.status}; check the token "
                                           f"(the SP said: {exc.message.split(': ', 1)[-1]})"}
        except NotFound:
            return {"ok": False, "detail": f"{where} answered 404: check the base URL (OfficeSpace: "
                                           f"https://<company>.officespacesoftware.com/api/scim/v2)"}
        except RetryLater as exc:
            if exc.status:
                return {"ok": False, "detail": f"{where} answered {exc.status}: {exc.message.split(': ', 1)[-1]}"}
            return {"ok": False, "detail": f"could not reach {cfg.base_url}: {exc.message.split(': ', 1)[-1]}"}
        except PermanentError as exc:
            return {"ok": False, "detail": f"{where}: {exc.message}"}
        except ScimError as exc:
            return {"ok": False, "detail": f"{where}: {exc.message}"}
        except Exception as exc:  # a hostile answer is the SP's failure, never a 5xx of ours
            log.exception("test connection of %s failed unexpectedly", slug, extra={"app": slug})
            return {"ok": False, "detail": f"{where}: {unexpected(slug, exc)}"}
        if not isinstance(body, dict) or ("Resources" not in body and "totalResults" not in body):
            return {"ok": False, "detail": f"{where} answered, but not with a SCIM ListResponse: check the base URL"}
        total = mp._text(body.get("totalResults")) or "0"
        status = self.status.app_status(slug)
        if status.get("state") == "auth_failed":
            self.engine.credentials_failed(slug)
            self.status.reset_app(slug)
        return {"ok": True, "detail": f"connected to {cfg.base_url}: authenticated and listed users ({total} in the SP)"}

    def activation_test(self, slug: str, test_email: str) -> dict[str, Any]:
        """Test connection, then JumpCloud's activation check: create, update, deactivate and delete a test user."""
        connected = self.test_connection(slug)
        if not connected.get("ok"):
            return {**connected, "steps": [step("connect", False, connected["detail"])]}
        cfg, token = self.engine.config(slug), self.engine.clients.tokens(slug)
        if cfg is None or not token:  # removed since the connection test read them
            return {"ok": False, "detail": f"provisioning of '{slug}' has no configuration or no SCIM token", "steps": []}
        try:
            result = run_activation_test(self.engine.clients.factory, cfg.base_url, token, test_email)
        except Exception as exc:  # a hostile answer is the SP's failure, never a 5xx of ours
            log.exception("activation test of %s failed unexpectedly", slug, extra={"app": slug})
            detail = unexpected(slug, exc)
            return {"ok": False, "detail": detail, "steps": [step("connect", True, connected["detail"], 200),
                                                             step("activation", False, detail)]}
        result["steps"].insert(0, step("connect", True, connected["detail"], 200))
        return result

    # ---------------------------------------------------------------- on demand
    def provision_user_now(self, slug: str, uid: str) -> dict[str, Any]:
        """Provision one user now (reads the SP even when nothing seems to have changed)."""
        cfg = self.engine.config(slug)
        if cfg is None or not cfg.enabled:
            return {"ok": False, "outcome": "skipped", "detail": "provisioning is not enabled for this app"}
        try:
            out = self.engine.sync_user(slug, uid, force=True)
        except Exception as exc:  # a hostile answer is the SP's failure, never a 5xx of ours
            if not isinstance(exc, ScimError) and self.engine.aws_unavailable(exc) is not None:
                raise  # our own AWS, not the SP: the admin API answers 503 with Retry-After (contract section 13)
            if not isinstance(exc, ScimError):
                log.exception("provisioning %s now failed unexpectedly", slug, extra={"app": slug})
                exc = BadAnswer(unexpected(slug, exc))
            cls = self.outcomes.failed(slug, exc)
            return {"ok": False, "outcome": RESULT_OF[cls], "detail": exc.message, "sp_status": exc.status or None}
        return {"ok": True, **out.to_dict(), "log": self.plog.read_log(slug, user_id=uid, limit=5)}
