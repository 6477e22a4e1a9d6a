"""Turn one change event (contract section 4) into syncs, app by app, with the per-app circuit
breaker and status bookkeeping. The event only says *what* changed; everything is read afresh,
so a repeated, late or reordered event does no harm."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

from aws_lambda_powertools import Logger

from idp.kernel.events import GROUP_KINDS, KINDS, USER_KINDS
from idp.provisioning.claims import Busy
from idp.provisioning.engine import Engine
from idp.provisioning.policy import BreakerSettings
from idp.provisioning.ports import ClaimLost
from idp.provisioning.run import CachedDirectory, Outcome
from idp.scim.protocol import AuthError, PermanentError, RetryLater, ScimError

if TYPE_CHECKING:
    from idp.provisioning.reconcile import Reconciler

log = Logger(child=True)


STATUS_TTL_SECONDS = 2.0  # how long one consumer trusts the app status (breaker) it read


class BadEvent(Exception):
    """The message is not an event we understand (permanent)."""


class BreakerOpen(RetryLater):
    """The app's circuit breaker is open: no request was sent."""


@dataclass
class EventFailed(Exception):
    """Some apps failed. `errors`: (slug, exception); the others were done."""

    errors: list[tuple[str, BaseException]]
    outcomes: list[Outcome] = field(default_factory=list)

    def __str__(self) -> str:
        return "; ".join(f"{slug}: {exc}" for slug, exc in self.errors)

    @property
    def transient(self) -> bool:
        return any(not isinstance(e, PermanentError) for _, e in self.errors)

    @property
    def auth(self) -> bool:
        return any(isinstance(e, AuthError) for _, e in self.errors)

    def retry_after(self) -> float | None:
        delays = [e.delay_seconds for _, e in self.errors if isinstance(e, RetryLater) and e.delay_seconds is not None]
        return max(delays) if delays else None


def parse_event(body: dict) -> dict:
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
                 metrics=None, *, status_ttl: float = STATUS_TTL_SECONDS, clock: Callable[[], float] = time.monotonic):
        self.engine = engine
        self.state = engine.state
        self.reconciler = reconciler
        self.breaker = breaker or BreakerSettings()
        self.metrics = metrics
        self.status_ttl, self.clock = status_ttl, clock
        self._status: dict[str, tuple[float, dict]] = {}  # slug -> (read at, the app's provisioning status)

    def _app_status(self, slug: str) -> dict:
        """The app's status (breaker), read at most once per `status_ttl` per app: a storm of events that
        change nothing then costs one state read each (the entity's own item), not two."""
        hit = self._status.get(slug)
        now = self.clock()
        if hit is not None and now - hit[0] < self.status_ttl:
            return hit[1]
        status = self.state.app_status(slug)
        self._status[slug] = (now, status)
        return status

    def _status_changed(self, slug: str) -> None:
        self._status.pop(slug, None)

    # ---------------------------------------------------------------- entry
    def apply(self, event: dict) -> list[Outcome]:
        event = parse_event(event)
        kind, ident, app = event["type"], event.get("id"), event.get("app")
        d = CachedDirectory(self.engine.directory)
        if kind == "app.sync":
            slug = app or ident
            return self._per_app(d, [slug], lambda slug: self._app_sync(slug), force_try=True)
        slugs = self._slugs(d, app)
        if kind in USER_KINDS:
            return self._per_app(d, slugs, lambda slug: self._user(d, slug, ident))
        if kind in GROUP_KINDS:
            return self._per_app(d, slugs, lambda slug: self._group(d, slug, ident))
        # app.access_changed: the id is a user or a group
        return self._per_app(d, slugs, lambda slug: self._access(d, slug, ident))

    def _slugs(self, d: CachedDirectory, app: str | None) -> list[str]:
        if app:
            cfg = self.engine.config(app, d)
            return [app] if cfg and cfg.enabled else []
        return [cfg.slug for cfg in self.engine.enabled_apps(d)]

    def _per_app(self, d: CachedDirectory, slugs: list[str], work, force_try: bool = False) -> list[Outcome]:
        outcomes: list[Outcome] = []
        errors: list[tuple[str, BaseException]] = []
        for slug in slugs:
            status = self._app_status(slug)
            remaining = self.state.breaker_open_for(status)
            if remaining > 0 and not force_try:
                errors.append((slug, BreakerOpen(f"provisioning for '{slug}' is paused: {status.get('reason') or 'circuit open'}",
                                                 delay_seconds=remaining)))
                continue
            try:
                got = work(slug)
            except AuthError as exc:
                self.engine.credentials_failed(slug)
                self.state.note_auth_failure(slug, exc.message, self.breaker.auth_retry)
                self._status_changed(slug)
                errors.append((slug, exc))
                continue
            except (Busy, ClaimLost) as exc:
                errors.append((slug, exc if isinstance(exc, RetryLater) else RetryLater(str(exc), 1.0)))
                continue
            except RetryLater as exc:
                if self.metrics:
                    self.metrics.retry(slug)
                if exc.status != 429:  # throttling is the SP pacing us, not the SP failing
                    self.state.note_transient_failure(slug, exc.message, threshold=self.breaker.threshold,
                                                      base_cooldown=self.breaker.base_cooldown,
                                                      max_cooldown=self.breaker.max_cooldown, window=self.breaker.window)
                    self._status_changed(slug)
                errors.append((slug, exc))
                continue
            except PermanentError as exc:
                if self.metrics:
                    self.metrics.failure(slug)
                self.state.note_permanent_failure(slug, exc.message)
                self._status_changed(slug)
                errors.append((slug, exc))
                continue
            except _Partial as part:
                outcomes.extend(part.outcomes)
                errors.append((slug, part.error))
                self._note_error(slug, part.error)
                continue
            outcomes.extend(got)
            if self.metrics:
                for o in got:
                    self.metrics.push(slug, o.outcome)
            answered = sum(o.requests for o in got)
            if answered:
                # The SP answered: count it in the window as the status is now, not as this consumer last read it.
                self.state.note_success(slug, None, window=self.breaker.window, requests=answered)
                self._status_changed(slug)
            elif status.get("state") not in (None, "ok", "halted"):
                self.state.note_success(slug, status)
                self._status_changed(slug)
        if errors:
            raise EventFailed(errors, outcomes)
        return outcomes

    def _note_error(self, slug: str, exc: BaseException) -> None:
        self._status_changed(slug)
        if isinstance(exc, AuthError):
            self.engine.credentials_failed(slug)
            self.state.note_auth_failure(slug, exc.message, self.breaker.auth_retry)
        elif isinstance(exc, RetryLater) and not isinstance(exc, Busy) and exc.status != 429:
            self.state.note_transient_failure(slug, exc.message, threshold=self.breaker.threshold,
                                              base_cooldown=self.breaker.base_cooldown, max_cooldown=self.breaker.max_cooldown, window=self.breaker.window)
        elif isinstance(exc, PermanentError):
            self.state.note_permanent_failure(slug, exc.message)

    # ---------------------------------------------------------------- kinds
    def _user(self, d: CachedDirectory, slug: str, uid: str) -> list[Outcome]:
        return [self.engine.sync_user(slug, uid, d=d)]

    def _group(self, d: CachedDirectory, slug: str, gid: str) -> list[Outcome]:
        """Members who joined or left a bound group gain or lose access; then the group itself."""
        engine, state = self.engine, self.state
        run = engine.open_run(slug, d)
        if run is None:
            return []
        group = d.get_group(gid)
        bound = group is not None and d.group_bound(slug, gid)
        current = set(d.list_members(gid)) if group is not None else set()
        snap = state.access_snapshot(slug, gid)
        gm = state.get_map(slug, "GROUP", gid) if run.cfg.group_management else None
        if bound:
            affected = current if snap is None else (current ^ snap)
        elif snap is None and not gm:
            affected = set()  # a group this app never cared about
        else:
            affected = current | (snap or set())
        outcomes: list[Outcome] = []
        first_error: ScimError | None = None
        for uid in sorted(affected):
            try:
                outcomes.append(engine.sync_user(slug, uid, run=run, skip_groups={gid}))
            except PermanentError as exc:
                first_error = first_error or exc  # the others still get their change
            except ScimError as exc:
                raise _Partial(outcomes, exc) from None
        if run.cfg.group_management:
            try:
                outcomes.append(engine.sync_group(slug, gid, run=run))
            except ScimError as exc:
                raise _Partial(outcomes, exc) from None
        if first_error is not None:
            raise _Partial(outcomes, first_error)
        if bound:
            if snap != current:
                state.put_access_snapshot(slug, gid, current)
        elif snap is not None:
            state.delete_access_snapshot(slug, gid)
        return outcomes

    def _access(self, d: CachedDirectory, slug: str, ident: str) -> list[Outcome]:
        if d.get_user(ident) is not None or self.state.get_map(slug, "USER", ident) is not None:
            return self._user(d, slug, ident)
        if (d.get_group(ident) is not None or self.state.access_snapshot(slug, ident) is not None
                or self.state.get_map(slug, "GROUP", ident) is not None):
            return self._group(d, slug, ident)
        return []

    def _app_sync(self, slug: str) -> list[Outcome]:
        if self.reconciler is None:
            return []
        cfg = self.engine.config(slug)
        if not cfg or not cfg.enabled:
            return []
        status = self.state.app_status(slug)  # app.sync: always the stored status, never a cached one
        self._status_changed(slug)
        if status.get("state") in ("auth_failed", "failing"):
            # app.sync follows new settings or a new token: give the SP a fresh chance.
            self.engine.credentials_failed(slug)
            self.state.reset_app(slug)
        summary = self.reconciler.reconcile_app(slug)
        return [Outcome("app", slug, slug, summary.get("result", "reconciled"), str(summary.get("reason") or ""),
                        int(summary.get("requests") or 0))]


class _Partial(Exception):
    def __init__(self, outcomes: list[Outcome], error: BaseException):
        super().__init__(str(error))
        self.outcomes = outcomes
        self.error = error
