"""The provisioning state in DynamoDB as the composition root hands it out: one store per item kind
on one table (`idp.provisioning.ports.ProvisioningStores`), the mapping, claim and log stores sharing
one write buffer, every store one clock. The log's audit sink is given here, before any store is used:
each provisioning log entry is also an audit event pointing at it, batched with the run's writes."""
from __future__ import annotations

import time
from typing import Any, Callable

from idp.adapters.provisioning.access import DynamoAccessSnapshots
from idp.adapters.provisioning.app_status import DynamoAppStatus
from idp.adapters.provisioning.buffer import DynamoWriteBuffer
from idp.adapters.provisioning.claims import DynamoClaims
from idp.adapters.provisioning.lease import DynamoLease
from idp.adapters.provisioning.log import DynamoProvisioningLog
from idp.adapters.provisioning.mappings import DynamoMappings
from idp.kernel.audit import AuditSink
from idp.provisioning.ports import ProvisioningStores


def dynamo_stores(table: Any, *, audit: AuditSink | None = None,
                  clock: Callable[[], float] = time.time) -> ProvisioningStores:
    buffer = DynamoWriteBuffer(table, audit)
    return ProvisioningStores(
        buffer=buffer,
        mappings=DynamoMappings(table, buffer, clock),
        claims=DynamoClaims(table, buffer, clock),
        lease=DynamoLease(table, clock),
        status=DynamoAppStatus(table, clock),
        access=DynamoAccessSnapshots(table),
        log=DynamoProvisioningLog(table, buffer, clock, audit),
        clock=clock,
    )
