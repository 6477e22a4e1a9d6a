"""Turn one change event (contract section 4) into syncs, app by app, with the per-app circuit breaker and
status bookkeeping. The event only says *what* changed; all is read afresh, so a repeat or reordering is harmless.

Each SP on its own (contract section 4): one event is done for every enabled app in turn, so one
app's SP must neither stop nor hold up the others.
- Stop: whatever one app's work raises (a classified SCIM failure, or RecursionError, AttributeError,
  KeyError... from an answer that slipped past the client's checks) is that app's failure: noted in its
  status, reported in `EventFailed`, and the loop goes on with the next app.
- Hold up: the apps that look healthy go first. With an `offload` port (the consumer's: it sends to the
  queue), an app is done inline only within a time budget: each of its SCIM requests gets at most
  `APP_BUDGET_SECONDS` (1 s, `request_cap`; a 429's short inline wait is not a request and does not
  count). An app whose request was cut (`BudgetSpent`: for the rest of the invocation and
  `SLOW_MEMORY_SECONDS`, 30 s) or whose status is `failing`/`auth_failed` is "slow" (an app with
  much to do is not: only an SP slow to answer a request is): its share of the event is not done inline but handed to `offload` as an
  app-specific event (`{"type", "id", "app": slug, "offloaded": 1}`), which the consumer sends in ONE
  message group per app (`SLOW_GROUP_PREFIX + slug`), so at most one consumer is ever busy with a slow
  app while the other groups keep flowing. An offloaded event is done inline whatever it costs (only the
  client's `REQUEST_DEADLINE` per request and the invocation's remaining time bound it) and never
  offloaded again. Without `offload` (tests, tools) every app is done inline, as before."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from aws_lambda_powertools import Logger

from idp.kernel.events import GROUP_KINDS, KINDS, USER_KINDS
from idp.provisioning.app_lanes import AppLanes
from idp.provisioning.engine import Engine
from idp.provisioning.failures import AppOutcomes, FailureClass, classify
from idp.provisioning.parallel import BreakerOpen
from idp.provisioning.policy import BreakerSettings
from idp.provisioning.ports import ClaimLost
from idp.provisioning.run import CachedDirectory, Outcome, Run
from idp.scim.protocol import BadAnswer, BudgetSpent, PermanentError, RetryLater, ScimError, request_cap

if TYPE_CHECKING:
    from idp.provisioning.metrics import ProvisioningMetrics
    from idp.provisioning.reconcile import Reconciler

log = Logger(child=True)


STATUS_TTL_SECONDS = 2.0  # how long one consumer trusts the app status (breaker) it read
APP_BUDGET_SECONDS = 1.0  # an app's inline work per invocation; past it, its shares go to its own message group
SLOW_MEMORY_SECONDS = 30.0  # an app whose work was cut by its budget counts as slow this long (in this container)
SLOW_GROUP_PREFIX = "app-slow:"  # the message group of an app's offloaded events (one per app)

Offload = Callable[[dict[str, Any], str], bool]  # (the app's own event, slug) -> sent to the app's message group
FollowUps = Callable[[list[dict[str, Any]]], None]  # events sent to the queue, each in its entity's message group


class BadEvent(Exception):
    """The message is not an event we understand (permanent)."""


class AppWorkFailed(BadAnswer):
    """An app's work raised something that is not a classified SCIM failure (RecursionError, AttributeError,
    KeyError, TypeError...: an SP answer that slipped past the client's checks, or a bug). It is that app's
    failure, counted against its breaker like a `BadAnswer`; the other apps go on."""


@dataclass
class EventFailed(Exception):
    """Some apps failed. `errors`: (slug, exception); the others were done."""

    errors: list[tuple[str, BaseException]]
    outcomes: list[Outcome] = field(default_factory=list)

    def __str__(self) -> str:
        return "; ".join(f"{slug}: {exc}" for slug, exc in self.errors)

    @property
    def transient(self) -> bool:
        return any(classify(e) is not FailureClass.PERMANENT for _, e in self.errors)

    @property
    def auth(self) -> bool:
        return any(classify(e) is FailureClass.AUTH for _, e in self.errors)

    def retry_after(self) -> float | None:
        delays = [e.delay_seconds for _, e in self.errors if isinstance(e, RetryLater) and e.delay_seconds is not None]
        return max(delays) if delays else None


def parse_event(body: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise BadEvent("the message body is not a JSON object")
    kind = body.get("type")
    if kind not in KINDS:
        raise BadEvent(f"unknown event type {kind!r}")
    if kind != "app.sync" and not body.get("id"):
        raise BadEvent(f"event {kind} has no 'id'")
    if kind == "app.sync" and not (body.get("app") or body.get("id")):
        raise BadEvent("app.sync names no app")
    return body


class Dispatcher:
    def __init__(self, engine: Engine, reconciler: "Reconciler | None" = None, breaker: BreakerSettings | None = None,
                 metrics: ProvisioningMetrics | None = None, *, status_ttl: float = STATUS_TTL_SECONDS, clock: Callable[[], float] = time.monotonic,
                 offload: Offload | None = None, app_budget: float = APP_BUDGET_SECONDS,
                 slow_memory: float = SLOW_MEMORY_SECONDS, follow_ups: FollowUps | None = None):
        self.engine = engine
        stores = engine.stores  # the ports of the provisioning state this part uses
        self.buffer, self.mappings, self.status, self.access = stores.buffer, stores.mappings, stores.status, stores.access
        self.reconciler = reconciler
        self.breaker = breaker or BreakerSettings()
        self.metrics = metrics
        self.status_ttl, self.clock = status_ttl, clock
        self._status: dict[str, tuple[float, dict[str, Any]]] = {}  # slug -> (read at, the app's provisioning status)
        self._all_slugs: tuple[float, list[str]] | None = None  # (read at, every app's slug)
        self.offload, self.app_budget, self.slow_memory = offload, app_budget, slow_memory
        self.follow_ups = follow_ups  # with it, a group's members are synced by events of their own, in parallel
        self.lanes = AppLanes(app_budget, slow_memory)
        self.outcomes = AppOutcomes(engine, self.breaker, metrics)

    # ---------------------------------------------------------------- slow apps
    def begin_invocation(self) -> None:
        self.lanes.begin_invocation()

    def slow(self, slug: str, status: dict[str, Any] | None = None) -> str | None:
        """Why the app counts as slow or failing now (its shares go to its own message group), or None."""
        return self.lanes.slow(slug, self._app_status(slug) if status is None else status)

    def _hand_off(self, event: dict[str, Any] | None, slug: str, why: str) -> Outcome | None:
        """The app's share of `event` sent to its own message group; None when that failed, or with no event (do it inline)."""
        if event is None:
            return None
        share = {"type": event["type"], "id": event.get("id"), "app": slug, "offloaded": 1}
        if event.get("at"):
            share["at"] = event["at"]
        try:
            sent = self.offload(share, slug) if self.offload else False
        except Exception:  # then it is done inline, as without the port
            log.exception("handing %s's share off failed", slug, extra={"app": slug})
            sent = False
        if not sent:
            return None
        log.info("%s's share of %s %s goes to its own message group: %s", slug, event["type"], event.get("id"), why,
                 extra={"app": slug})
        return Outcome("app", event.get("id") or slug, slug, "deferred", f"handed to the app's own queue group: {why}")

    def _app_status(self, slug: str) -> dict[str, Any]:
        """The app's status (breaker), read at most once per `status_ttl` per app: a storm of events that
        change nothing then costs one state read each (the entity's own item), not two."""
        hit = self._status.get(slug)
        now = self.clock()
        if hit is not None and now - hit[0] < self.status_ttl:
            return hit[1]
        status = self.status.app_status(slug)
        self._status[slug] = (now, status)
        return status

    def _status_changed(self, slug: str, now_status: dict[str, Any] | None = None) -> None:
        """Forget the app's cached status, or keep `now_status`: the status a write just answered with
        (the next event then reads no status item of its own)."""
        if now_status is None:
            self._status.pop(slug, None)
        else:
            self._status[slug] = (self.clock(), now_status)

    # ---------------------------------------------------------------- entry
    def apply(self, event: dict[str, Any]) -> list[Outcome]:
        event = parse_event(event)
        kind, app = event["type"], event.get("app")
        ident: str = event.get("id") or ""  # parse_event: every kind but app.sync has one (app.sync: an app)
        d = CachedDirectory(self.engine.directory)
        if kind == "app.sync":
            slug = app or ident
            return self._per_app(d, [slug], lambda slug: self._app_sync(slug), force_try=True)
        slugs = self._slugs(d, app)
        if kind in USER_KINDS:
            return self._per_app(d, slugs, lambda slug: self._user(d, slug, ident), event=event)
        if kind in GROUP_KINDS:
            return self._per_app(d, slugs, lambda slug: self._group(d, slug, ident), event=event)
        # app.access_changed: the id is a user or a group
        return self._per_app(d, slugs, lambda slug: self._access(d, slug, ident), event=event)

    def _slugs(self, d: CachedDirectory, app: str | None) -> list[str]:
        if app:
            cfg = self.engine.config(app, d)
            return [app] if cfg and cfg.enabled else []
        # The apps' slugs (a query of the apps index) are trusted for `status_ttl`; each app's configuration
        # is read afresh per event, so enabling, disabling or deleting one counts at once (an app created
        # meanwhile is pushed whole by the app.sync its provisioning settings send).
        now = self.clock()
        if self._all_slugs is None or now - self._all_slugs[0] >= self.status_ttl:
            self._all_slugs = (now, list(d.all_app_slugs()))
        return [slug for slug in self._all_slugs[1] if (cfg := self.engine.config(slug, d)) and cfg.enabled]

    def _per_app(self, d: CachedDirectory, slugs: list[str], work: Callable[[str], list[Outcome]], force_try: bool = False,
                 event: dict[str, Any] | None = None) -> list[Outcome]:
        """`work(slug)` for each app, the healthy first: handed off when slow, skipped while its breaker is open, each
        app's failure noted by its class and collected (EventFailed once every app had its turn)."""
        outcomes: list[Outcome] = []
        errors: list[tuple[str, BaseException]] = []
        # Within a budget, and handed off when slow: only with the port, never an app.sync or an offloaded share.
        budgeted = self.offload is not None and event is not None and not force_try and not event.get("offloaded")
        statuses = {slug: self._app_status(slug) for slug in slugs}
        if len(slugs) > 1:  # healthy apps first, the quicker first among them (then in the directory's order)
            slugs = self.lanes.order(slugs, statuses)
        for slug in slugs:
            status = statuses[slug]
            why = self.slow(slug, status) if budgeted else None
            if why and (handed := self._hand_off(event, slug, why)):
                outcomes.append(handed)
                continue
            remaining = self.status.breaker_open_for(status)
            if remaining > 0 and not force_try:
                errors.append((slug, BreakerOpen(f"provisioning for '{slug}' is paused: {status.get('reason') or 'circuit open'}",
                                                 delay_seconds=remaining)))
                continue
            got = self._one_app(slug, work, status, budgeted, force_try, event, outcomes, errors)
            if got is not None:
                outcomes.extend(got)
        if errors:
            raise EventFailed(errors, outcomes)
        return outcomes

    def _one_app(self, slug: str, work: Callable[[str], list[Outcome]], status: dict[str, Any], budgeted: bool, force_try: bool,
                 event: dict[str, Any] | None, outcomes: list[Outcome], errors: list[tuple[str, BaseException]]) -> list[Outcome] | None:
        """One app's work within its budget: its outcomes (the SP's answers counted for its breaker), or None when it
        failed (what it did and what failed are in `outcomes` and `errors`)."""
        began = time.monotonic()
        try:
            with request_cap(self.app_budget if budgeted else None):
                got = work(slug)
        except Exception as exc:  # noqa: BLE001 - one app's failure, whatever it is, never skips the next app (_app_failed)
            self._app_failed(slug, exc, budgeted, event, outcomes, errors)
            return None
        finally:
            if not force_try:  # a reconcile (app.sync) is long by nature
                self.lanes.took(slug, time.monotonic() - began)
        if self.metrics:
            for o in got:
                self.metrics.push(slug, o.outcome)
        answered = sum(o.requests for o in got)
        if answered:
            # The SP answered: count it in the window as the status is now, not as this consumer last read it.
            self._status_changed(slug, self.status.note_success(slug, None, window=self.breaker.window, requests=answered))
        elif status.get("state") not in (None, "ok", "halted"):
            self.status.note_success(slug, status)
            self._status_changed(slug)
        return got

    def _app_failed(self, slug: str, exc: Exception, budgeted: bool, event: dict[str, Any] | None, outcomes: list[Outcome],
                    errors: list[tuple[str, BaseException]]) -> None:
        """One app's work raised: hand its share off when its budget ran out, else note the failure by its class."""
        if isinstance(exc, ClaimLost):
            errors.append((slug, RetryLater(str(exc), 1.0)))
        elif isinstance(exc, BudgetSpent):
            self.lanes.cut(slug)
            handed = self._hand_off(event, slug, "it used its time budget") if budgeted else None
            outcomes.append(handed) if handed else errors.append((slug, exc))  # not counted against the SP
        elif isinstance(exc, ScimError):
            self._note_error(slug, exc)  # by its class (idp.provisioning.failures)
            errors.append((slug, exc))
        elif isinstance(exc, _Partial):
            outcomes.extend(exc.outcomes)
            if isinstance(exc.error, BudgetSpent):
                self.lanes.cut(slug)
                if budgeted and (handed := self._hand_off(event, slug, "it used its time budget")):
                    outcomes.append(handed)
                    return
            errors.append((slug, exc.error))
            self._note_error(slug, exc.error)
        elif (wait := self.engine.aws_unavailable(exc)) is not None:  # ours, not the SP's: not counted
            log.warning("provisioning %s waits for AWS: %s", slug, type(exc).__name__, extra={"app": slug})
            errors.append((slug, RetryLater(f"AWS was unavailable while provisioning '{slug}'", float(wait))))
        else:  # one app's failure, whatever it is, never skips the next app
            log.exception("provisioning %s failed unexpectedly", slug, extra={"app": slug})
            failed = AppWorkFailed(f"{type(exc).__name__} while provisioning '{slug}': {str(exc)[:300]}")
            self._note_error(slug, failed)
            errors.append((slug, failed))

    def _note_error(self, slug: str, exc: BaseException) -> None:
        self._status_changed(slug)
        self.outcomes.failed(slug, exc)

    # ---------------------------------------------------------------- kinds
    def _user(self, d: CachedDirectory, slug: str, uid: str) -> list[Outcome]:
        return [self.engine.sync_user(slug, uid, d=d)]

    def _group(self, d: CachedDirectory, slug: str, gid: str) -> list[Outcome]:
        """Members who joined or left a bound group gain or lose access; then the group itself."""
        engine = self.engine
        run = engine.open_run(slug, d)
        if run is None:
            return []
        group = d.get_group(gid)
        bound = group is not None and d.group_bound(slug, gid)
        current = set(d.list_members(gid)) if group is not None else set()
        snap = self.access.access_snapshot(slug, gid)
        gm = self.mappings.get_map(slug, "GROUP", gid) if run.cfg.group_management else None
        if bound:
            affected = current if snap is None else (current ^ snap)
        elif snap is None and not gm:
            affected = set()  # a group this app never cared about
        else:
            affected = current | (snap or set())
        outcomes: list[Outcome] = []
        first_error = self._sync_members(run, slug, gid, self._fanned_out(slug, affected), outcomes)
        if run.cfg.group_management:
            try:
                outcomes.append(engine.sync_group(slug, gid, run=run))
            except ScimError as exc:
                raise _Partial(outcomes, exc) from None
        if first_error is not None:
            raise _Partial(outcomes, first_error)
        if bound:
            if snap != current:
                self.access.put_access_snapshot(slug, gid, current)
        elif snap is not None:
            self.access.delete_access_snapshot(slug, gid)
        return outcomes

    def _fanned_out(self, slug: str, affected: set[str]) -> set[str]:
        """The members left to sync here: none once each member's sync went out as an event of its own (its message
        group: the user), which the consumers run side by side; the group itself is pushed here with whoever is in
        the SP, and the rest join it as they arrive (GroupSync.settle, UserSync.fix_memberships)."""
        if self.follow_ups is None or len(affected) <= 1:
            return affected
        try:
            self.follow_ups([{"type": "app.access_changed", "id": uid, "app": slug} for uid in sorted(affected)])
            return set()
        except Exception:  # then they are synced here, one after another
            log.exception("sending the members' events failed; syncing them inline", extra={"app": slug})
            return affected

    def _sync_members(self, run: Run, slug: str, gid: str, affected: set[str], outcomes: list[Outcome]) -> ScimError | None:
        """Each affected member's sync (outcomes appended); the first permanent failure, the others still get their
        change; any other SCIM failure stops here (_Partial)."""
        engine = self.engine
        first_error: ScimError | None = None
        # A member another consumer is creating right now is left to it (no waiting on its claim): it
        # creates the user as bound and active, and the group's create or settle below adds whoever
        # exists by then; each member's own event follows anyway.
        run.no_claim_wait = True
        try:
            for uid in sorted(affected):
                try:
                    outcomes.append(engine.sync_user(slug, uid, run=run, skip_groups={gid}))
                except PermanentError as exc:
                    first_error = first_error or exc  # the others still get their change
                except ScimError as exc:
                    raise _Partial(outcomes, exc) from None
        finally:
            run.no_claim_wait = False
        return first_error

    def _access(self, d: CachedDirectory, slug: str, ident: str) -> list[Outcome]:
        if d.get_user(ident) is not None or self.mappings.get_map(slug, "USER", ident) is not None:
            return self._user(d, slug, ident)
        if (d.get_group(ident) is not None or self.access.access_snapshot(slug, ident) is not None
                or self.mappings.get_map(slug, "GROUP", ident) is not None):
            return self._group(d, slug, ident)
        return []

    def _app_sync(self, slug: str) -> list[Outcome]:
        if self.reconciler is None:
            return []
        cfg = self.engine.config(slug)
        if not cfg or not cfg.enabled:
            return []
        status = self.status.app_status(slug)  # app.sync: always the stored status, never a cached one
        self._status_changed(slug)
        if status.get("state") in ("auth_failed", "failing"):
            # app.sync follows new settings or a new token: give the SP a fresh chance.
            self.engine.credentials_failed(slug)
            self.status.reset_app(slug)
        summary = self.reconciler.reconcile_app(slug)
        return [Outcome("app", slug, slug, summary.get("result", "reconciled"), str(summary.get("reason") or ""),
                        int(summary.get("requests") or 0))]


class _Partial(Exception):
    def __init__(self, outcomes: list[Outcome], error: BaseException):
        super().__init__(str(error))
        self.outcomes = outcomes
        self.error = error
