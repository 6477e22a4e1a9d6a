"""The provisioning engine: provision one (app, user) or one (app, group) by reading the directory as
it is now, comparing with what was last pushed and sending the fewest requests that close the gap.
`Engine` is the small facade the dispatcher, the reconciler and the tests use; the work is done by
`user_sync`, `group_sync`, `claims` (create claims), `lease` (the reconcile lease), `clients` (the
per-app SCIM client cache) and `retry_budget` (Retry-After waited out inside the invocation)."""
from __future__ import annotations

import time
from typing import Callable

from idp.provisioning import import_gate
from idp.provisioning.claims import CreateClaims
from idp.provisioning.clients import ScimClients
from idp.provisioning.group_sync import GroupSync
from idp.provisioning.lease import ReconcileLease
from idp.provisioning.planner import ProvisioningConfig
from idp.provisioning.ports import ClientFactory, DirectoryPort, ProvisioningStores, ScimApi, TokenSource
from idp.provisioning.retry_budget import RetryBudget
from idp.provisioning.run import UNREAD, CachedDirectory, KnownMap, Outcome, Run, SpResource
from idp.provisioning.user_sync import UserSync
from idp.scim.protocol import DEFAULT_TIMEOUT, Exchange


class Engine:
    def __init__(
        self,
        directory: DirectoryPort,
        stores: ProvisioningStores,
        tokens: TokenSource,
        *,
        client_factory: ClientFactory,
        timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
        on_exchange: Callable[[str, Exchange], None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        aws_unavailable: Callable[[BaseException], float | None] | None = None,
    ):
        self.directory = directory
        self.stores = stores
        # Our own AWS (DynamoDB, SSM) throttled or down, as seconds to wait (None: not that): never the SP's failure.
        self.aws_unavailable: Callable[[BaseException], float | None] = aws_unavailable or (lambda exc: None)
        self.budget = RetryBudget(sleep)
        self.clients = ScimClients(tokens, client_factory, timeout=timeout, on_exchange=on_exchange,
                                   retry_wait=self.budget.wait)
        self.lease = ReconcileLease(stores.lease, stores.buffer)
        self.claims = CreateClaims(stores.claims, stores.mappings, stores.lease, sleep)
        self.groups = GroupSync(stores.mappings, stores.log, self.claims)
        self.users = UserSync(stores.mappings, stores.log, self.claims, self.lease, self.groups, clock=stores.clock)

    # ---------------------------------------------------------------- in-invocation Retry-After
    def set_deadline(self, remaining_seconds: float | None) -> None:
        """The Lambda's remaining time for this invocation (None: unknown, never wait inline)."""
        self.budget.set_deadline(remaining_seconds)

    # ---------------------------------------------------------------- apps and clients
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
        self.clients.credentials_failed(slug)

    def client_for(self, cfg: ProvisioningConfig) -> ScimApi:
        return self.clients.client_for(cfg)

    def open_run(self, slug: str, d: CachedDirectory | None = None) -> Run | None:
        """A unit of work for one app (None when provisioning is off for it)."""
        d = d or CachedDirectory(self.directory)
        cfg = self.config(slug, d)
        if not cfg or not cfg.enabled:
            return None
        run = Run(cfg, self.client_for(cfg), d)
        if cfg.require_import_confirmation and not import_gate.may_push(run, self.stores.status):
            return None  # the SP holds users and the import is not confirmed yet
        return run

    def skip_reason(self, slug: str, d: CachedDirectory | None = None) -> str:
        """Why `open_run` gave no run: provisioning is off, or the first push waits for the import's confirmation."""
        cfg = self.config(slug, d or CachedDirectory(self.directory))
        if cfg and cfg.enabled and cfg.require_import_confirmation:
            return (f"waiting for the import to be confirmed: the SP already holds users (POST /admin/apps/{slug}"
                    "/provisioning/import, then its confirm)")
        return "provisioning is off for this app"

    # ---------------------------------------------------------------- users and groups
    def sync_user(self, slug: str, uid: str, *, d: CachedDirectory | None = None, actual: SpResource = None,
                  force: bool = False, fix_memberships: bool = True, skip_groups: set[str] | None = None,
                  run: Run | None = None, known_map: KnownMap = UNREAD) -> Outcome:
        """Make the SP's copy of this user match the directory. `actual`: the SP resource when the
        caller has read it already (reconcile), or MISSING. `force`: read the SP even when the
        hash says nothing changed (provision on demand). `known_map`: the user's mapping item (or
        None) when the caller has read it already (reconcile reads them all at once, after taking
        its lease)."""
        run = run or self.open_run(slug, d)
        if run is None:
            return Outcome("user", uid, slug, "skipped", self.skip_reason(slug, d))
        return self.users.sync(run, uid, actual=actual, force=force, fix_memberships=fix_memberships,
                               skip_groups=skip_groups, known_map=known_map)

    def fix_memberships(self, run: Run, uid: str, skip_groups: set[str] | None = None) -> None:
        self.users.fix_memberships(run, uid, skip_groups)

    def sync_group(self, slug: str, gid: str, *, d: CachedDirectory | None = None, actual: SpResource = None,
                   run: Run | None = None, sp_user_ids: set[str] | None = None) -> Outcome:
        run = run or self.open_run(slug, d)
        if run is None:
            return Outcome("group", gid, slug, "skipped", self.skip_reason(slug, d))
        return self.groups.sync(run, gid, actual, sp_user_ids)

    # ---------------------------------------------------------------- the reconcile lease
    def take_lease(self, run: Run) -> bool:
        return self.lease.take(run)

    def lease_fresh(self, run: Run) -> bool:
        return self.lease.fresh(run)

    def keep_lease(self, run: Run) -> None:
        self.lease.keep(run)

    def drop_lease(self, run: Run) -> None:
        self.lease.drop(run)

