"""The provisioning state in DynamoDB as the one object the engine takes: the per-kind stores of
`idp.adapters.provisioning` (mapping items, create claims, the reconcile lease, app status and
breaker, access snapshots, the provisioning log) on one table, sharing one write buffer and one
clock. Each method is the store's own (see `idp.provisioning.ports` for the port of each kind)."""
from __future__ import annotations

import contextlib
import functools
import time
from typing import Callable

from idp.adapters.provisioning.access import DynamoAccessSnapshots
from idp.adapters.provisioning.app_status import DynamoAppStatus
from idp.adapters.provisioning.buffer import DynamoWriteBuffer
from idp.adapters.provisioning.claims import DynamoClaims
from idp.adapters.provisioning.lease import DynamoLease
from idp.adapters.provisioning.log import LOG_TTL_SECONDS, DynamoProvisioningLog  # noqa: F401 - re-exported
from idp.adapters.provisioning.mappings import DynamoMappings
from idp.provisioning.ports import (  # noqa: F401 - the item statuses, re-exported for the adapter's callers
    CLAIM_SECONDS,
    IN_SYNC,
    LEASE_SECONDS,
    STATUS_CREATING,
    STATUS_DEACTIVATED,
    STATUS_FAILED,
    STATUS_PENDING,
    STATUS_SYNCED,
    ClaimLost,
)


def _to(part: str, method: Callable) -> Callable:
    """A method of the composite that is `method` of the store in attribute `part` (same signature)."""

    @functools.wraps(method)
    def call(self, *args, **kwargs):
        return getattr(getattr(self, part), method.__name__)(*args, **kwargs)

    return call


class ProvisioningState:
    def __init__(self, table, *, clock: Callable[[], float] = time.time):
        self.table = table
        self.clock = clock
        now = lambda: self.clock()  # the stores follow a clock swapped on the composite
        self.write_buffer = DynamoWriteBuffer(table)
        self.mapping_store = DynamoMappings(table, self.write_buffer, now)
        self.claim_store = DynamoClaims(table, self.write_buffer, now)
        self.lease_store = DynamoLease(table, now)
        self.status_store = DynamoAppStatus(table, now)
        self.access_store = DynamoAccessSnapshots(table)
        self.log_store = DynamoProvisioningLog(table, self.write_buffer, now)

    # ---------------------------------------------------------------- write buffer
    @contextlib.contextmanager
    def buffered(self):
        """See `DynamoWriteBuffer.buffered`; the run's audit events are batched too (DynamoAuditLog.batched)."""
        with self.write_buffer.buffered(), self.log_store.audit.batched():
            yield self

    @property
    def buffering(self) -> bool:
        return self.write_buffer.buffering

    pending = _to("write_buffer", DynamoWriteBuffer.pending)
    flush = _to("write_buffer", DynamoWriteBuffer.flush)
    flush_maps = _to("write_buffer", DynamoWriteBuffer.flush_maps)

    # ---------------------------------------------------------------- mapping items
    get_map = _to("mapping_store", DynamoMappings.get_map)
    maps = _to("mapping_store", DynamoMappings.maps)
    save_pushed = _to("mapping_store", DynamoMappings.save_pushed)
    put_created = _to("mapping_store", DynamoMappings.put_created)
    update_members = _to("mapping_store", DynamoMappings.update_members)
    set_status = _to("mapping_store", DynamoMappings.set_status)
    set_memberships_pending = _to("mapping_store", DynamoMappings.set_memberships_pending)
    forget = _to("mapping_store", DynamoMappings.forget)
    forget_app = _to("mapping_store", DynamoMappings.forget_app)
    counts = _to("mapping_store", DynamoMappings.counts)

    # ---------------------------------------------------------------- create claims
    claim_create = _to("claim_store", DynamoClaims.claim_create)
    release_claim = _to("claim_store", DynamoClaims.release_claim)
    forget_unclaimed = _to("claim_store", DynamoClaims.forget_unclaimed)

    # ---------------------------------------------------------------- the reconcile lease
    acquire_lease = _to("lease_store", DynamoLease.acquire_lease)
    renew_lease = _to("lease_store", DynamoLease.renew_lease)
    release_lease = _to("lease_store", DynamoLease.release_lease)
    lease_blocks = _to("lease_store", DynamoLease.lease_blocks)

    # ---------------------------------------------------------------- app status + breaker
    app_status = _to("status_store", DynamoAppStatus.app_status)
    breaker_open_for = _to("status_store", DynamoAppStatus.breaker_open_for)
    note_success = _to("status_store", DynamoAppStatus.note_success)
    note_transient_failure = _to("status_store", DynamoAppStatus.note_transient_failure)
    note_auth_failure = _to("status_store", DynamoAppStatus.note_auth_failure)
    note_permanent_failure = _to("status_store", DynamoAppStatus.note_permanent_failure)
    set_halted = _to("status_store", DynamoAppStatus.set_halted)
    reset_app = _to("status_store", DynamoAppStatus.reset_app)
    open_import_gate = _to("status_store", DynamoAppStatus.open_import_gate)
    note_reconcile = _to("status_store", DynamoAppStatus.note_reconcile)

    # ---------------------------------------------------------------- bound-group snapshots
    access_snapshot = _to("access_store", DynamoAccessSnapshots.access_snapshot)
    put_access_snapshot = _to("access_store", DynamoAccessSnapshots.put_access_snapshot)
    delete_access_snapshot = _to("access_store", DynamoAccessSnapshots.delete_access_snapshot)

    # ---------------------------------------------------------------- provisioning log
    log = _to("log_store", DynamoProvisioningLog.log)
    read_log = _to("log_store", DynamoProvisioningLog.read_log)
    read_log_page = _to("log_store", DynamoProvisioningLog.read_log_page)
