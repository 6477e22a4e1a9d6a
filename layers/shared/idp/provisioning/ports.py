"""The ports of provisioning: what it needs from the directory, the token store, the SP's SCIM API and
its own state. The state is one port per item kind (mapping items, create claims, the reconcile
lease, the app status and breaker, access snapshots, the provisioning log, the write buffer),
handed out together as `ProvisioningStores`; each part takes the ones it uses. The adapters satisfy
them (`DirectoryStore`, `SecretStore`, `ScimClient`, `idp.adapters.provisioning`); tests pass
the in-memory fakes of the test support in dev/."""
from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import AbstractSet, Any, Callable, Iterator, Protocol, runtime_checkable

from idp.scim.protocol import Exchange, ScimResponse

CLAIM_SECONDS = 60  # a create claim lapses after this (a crashed consumer does not block the create)
LEASE_SECONDS = 180  # the reconcile lease; renewed while the run goes on (lease.LEASE_RENEW_BELOW)

# What a mapping item says of its entity.
STATUS_SYNCED = "synced"  # in the SP and equal to the directory
STATUS_DEACTIVATED = "deactivated"  # in the SP, inactive, as wanted
STATUS_PENDING = "pending"  # a transient failure: will be retried
STATUS_FAILED = "failed"  # a permanent failure (400...): needs a person
STATUS_CREATING = "creating"
IN_SYNC = frozenset({STATUS_SYNCED, STATUS_DEACTIVATED, "left"})


class ClaimLost(Exception):
    """Another consumer holds (or took over) the create claim."""


# ================================================================ the directory, tokens, the SP
@runtime_checkable
class DirectoryPort(Protocol):
    def get_user(self, uid: str) -> dict[str, Any] | None:
        """id, username, email, firstname, lastname, displayname, title, department,
        employee_id, phone, location, state (ACTIVE|SUSPENDED); None when deleted."""

    def get_group(self, gid: str) -> dict[str, Any] | None:
        """id, name, description; None when deleted."""

    def list_members(self, gid: str) -> list[str]: ...

    def groups_of_user(self, uid: str) -> list[str]: ...

    def user_record(self, uid: str) -> tuple[dict[str, Any] | None, list[str], list[str]]:
        """(get_user, apps_of_user, groups_of_user) of one user, in one read."""

    def get_app(self, slug: str) -> dict[str, Any] | None:
        """The app item, with `provisioning: {base_url, enabled, group_management, dialect?,
        matching_attribute?, deprovision?, max_deprovision_share?, attribute_mapping?, ...}`."""

    def all_app_slugs(self) -> list[str]: ...

    def app_user_bindings(self, slug: str) -> list[str]:
        """Users bound to the app directly."""

    def app_group_bindings(self, slug: str) -> list[str]:
        """Groups bound to the app."""

    def apps_of_user(self, uid: str) -> list[str]:
        """Apps the user is bound to directly."""

    def apps_of_group(self, gid: str) -> list[str]: ...


class TokenSource(Protocol):
    """The SCIM bearer token of an app; `fresh=True` skips any cache (after a 401/403)."""

    def __call__(self, slug: str, fresh: bool = False) -> str | None: ...


class ScimApi(Protocol):
    """What the engine asks of one SP's SCIM API (`idp.adapters.scim_client.ScimClient` is the real one).
    Every method raises a `idp.scim.protocol.ScimError` subclass on failure."""

    base_url: str
    token: str

    def request(self, method: str, path: str, *, params: dict[str, Any] | None = None, body: dict[str, Any] | None = None,
                headers: dict[str, Any] | None = None) -> ScimResponse: ...

    def get(self, resource: str, scim_id: str, *, params: dict[str, Any] | None = None) -> dict[str, Any]: ...

    def create(self, resource: str, payload: dict[str, Any]) -> ScimResponse: ...

    def replace(self, resource: str, scim_id: str, payload: dict[str, Any], *, etag: str | None = None) -> ScimResponse: ...

    def patch(self, resource: str, scim_id: str, operations: list[dict[str, Any]], *, etag: str | None = None) -> ScimResponse: ...

    def delete(self, resource: str, scim_id: str) -> None: ...

    def search(self, resource: str, filter_: str, *, count: int = 10, excluded: str | None = None) -> list[dict[str, Any]]: ...

    def iterate(self, resource: str, *, page_size: int = 100, excluded: str | None = None,
                max_pages: int = 10_000) -> Iterator[dict[str, Any]]: ...


class ClientFactory(Protocol):
    """Builds the SCIM client of one SP (the composition root passes `ScimClient`)."""

    def __call__(self, base_url: str, token: str, *, timeout: float | tuple[float, float],
                 on_exchange: Callable[[Exchange], None] | None = None,
                 retry_wait: Callable[[float, int], bool] | None = None) -> ScimApi: ...


# ================================================================ the provisioning state, per item kind
class WriteBuffer(Protocol):
    """Holds provisioning-log entries and the mapping items of leased creates (`put_created`) inside
    `buffered()` and writes them in batches; a read or write of a mapping item first writes what is
    held (this process reads its own writes, in order)."""

    def buffered(self) -> contextlib.AbstractContextManager[Any]: ...

    @property
    def buffering(self) -> bool: ...

    def pending(self) -> int: ...

    def flush(self) -> None: ...

    def flush_maps(self) -> None: ...


class MappingStore(Protocol):
    """`APP#{slug}` / `SCIM#USER#{uid}` and `SCIM#GROUP#{gid}`: what was pushed for an entity (scim_id,
    etag, pushed_hash, pushed, status, last_error; groups also display_name and members)."""

    def get_map(self, slug: str, kind: str, eid: str) -> dict[str, Any] | None: ...

    def maps(self, slug: str, kind: str, attributes: tuple[str, ...] | None = None) -> dict[str, dict[str, Any]]: ...

    def save_pushed(self, slug: str, kind: str, eid: str, *, scim_id: str, status: str, etag: str | None = None,
                    pushed: dict[str, Any] | None = None, pushed_hash: str | None = None, display_name: str | None = None,
                    members: set[str] | None = None, claim_token: str | None = None,
                    memberships_pending: bool = False) -> None:
        """Upsert what the SP holds. With `claim_token`: only while that claim is on the item (then
        the claim is removed with it), else `ClaimLost`. `memberships_pending` marks the user's group
        memberships as still to apply in the same write (see `set_memberships_pending`)."""

    def put_created(self, slug: str, kind: str, eid: str, *, scim_id: str, status: str, etag: str | None = None,
                    pushed: dict[str, Any] | None = None, pushed_hash: str | None = None) -> None:
        """The whole item of an object created under the reconcile lease (held while buffering)."""

    def update_members(self, slug: str, gid: str, add: AbstractSet[str] = frozenset(), remove: AbstractSet[str] = frozenset()) -> None: ...

    def set_status(self, slug: str, kind: str, eid: str, status: str, last_error: str | None = None) -> None: ...

    def set_memberships_pending(self, slug: str, uid: str, pending: bool) -> None:
        """Mark (or clear) a user whose group memberships still need applying; a no-op when the user's
        item does not exist (it was forgotten meanwhile)."""

    def forget(self, slug: str, kind: str, eid: str) -> None: ...

    def forget_app(self, slug: str) -> None:
        """Every user and group item of the app (its SCIM server changed: those ids are not the new one's)."""

    def counts(self, slug: str) -> dict[str, Any]: ...


class ClaimStore(Protocol):
    """The create claim on a mapping item: one holder until it releases it or the claim lapses."""

    def claim_create(self, slug: str, kind: str, eid: str, seconds: int = CLAIM_SECONDS) -> str | None:
        """A token, or None when the item has a scim_id or another holds a live claim."""

    def release_claim(self, slug: str, kind: str, eid: str, token: str) -> None:
        """Give the claim back; a no-op when it is no longer `token`'s."""

    def forget_unclaimed(self, slug: str, kind: str, eid: str) -> bool:
        """Delete the mapping item if it has no scim_id and no live claim (an abandoned or lapsed
        create, a leftover status); False when it has either (someone is creating it right now)."""


class LeaseStore(Protocol):
    """`APP#{slug}` / `SCIM#LEASE`: one reconcile run per app; consumer creates wait while it is held."""

    clock: Callable[[], float]

    def acquire_lease(self, slug: str, seconds: float = LEASE_SECONDS) -> tuple[str, float] | None:
        """(token, until) when the lease is free or lapsed, else None."""

    def renew_lease(self, slug: str, token: str, seconds: float = LEASE_SECONDS) -> float | None:
        """The new `until` while the lease item is still `token`'s, else None."""

    def release_lease(self, slug: str, token: str) -> None:
        """Drop the lease; a no-op when it is no longer `token`'s."""

    def lease_blocks(self, slug: str, token: str | None = None) -> bool:
        """True while someone other than `token` holds a live lease."""


class AppStatusStore(Protocol):
    """`APP#{slug}` / `SCIM#STATUS`: the app's provisioning state, circuit breaker, last reconcile.
    The numbers of the breaker come from `idp.provisioning.policy`."""

    def app_status(self, slug: str) -> dict[str, Any]: ...

    def breaker_open_for(self, status: dict[str, Any]) -> float: ...

    def note_success(self, slug: str, status: dict[str, Any] | None = None, window: float = 60.0, requests: int = 1) -> dict[str, Any] | None:
        """The SP answered. With `status` (as the caller read it): only close a breaker that is open or
        counting failures. Without: count `requests` answered requests in the window (atomically) and
        close it if open: the breaker weighs failed events against the requests the SP answered.
        Returns the status the count left (the write's own answer) when it closed nothing, else None."""

    def note_transient_failure(self, slug: str, message: str, *, threshold: int, base_cooldown: float,
                               max_cooldown: float, window: float = 60.0) -> float:
        """Count a transient failure in the app's window (a fresh window once `window` seconds passed,
        unless the breaker is open); open the breaker as `policy.breaker_opens` says. Returns the
        seconds it is open for (0: closed)."""

    def note_auth_failure(self, slug: str, message: str, retry_seconds: float) -> None: ...

    def note_permanent_failure(self, slug: str, message: str) -> None: ...

    def set_halted(self, slug: str, reason: str) -> None: ...

    def reset_app(self, slug: str) -> None: ...

    def open_import_gate(self, slug: str) -> None:
        """Pushes to the app may go ahead (idp.provisioning.import_gate)."""

    def note_reconcile(self, slug: str, summary: dict[str, Any]) -> None: ...


class AccessSnapshots(Protocol):
    """`APP#{slug}` / `SCIM#ACCESS#{gid}`: the members of a bound group last seen (who lost access)."""

    def access_snapshot(self, slug: str, gid: str) -> set[str] | None: ...

    def put_access_snapshot(self, slug: str, gid: str, members: set[str], *, only_if_absent: bool = False) -> bool:
        """Write the snapshot (``only_if_absent``: only when the group has none, atomically); True when written."""

    def delete_access_snapshot(self, slug: str, gid: str) -> None: ...


class ProvisioningLog(Protocol):
    """`PLOG#...`: what was sent and what the SP answered, per entity and app-wide, newest first."""

    def log(self, slug: str, kind: str, eid: str, *, action: str, outcome: str, request: dict[str, Any] | None = None,
            sp_status: int | None = None, sp_message: str | None = None, detail: str | None = None) -> None: ...

    def read_log(self, slug: str, *, user_id: str | None = None, group_id: str | None = None,
                 limit: int = 50) -> list[dict[str, Any]]: ...

    def read_log_page(self, slug: str, *, user_id: str | None = None, group_id: str | None = None,
                      limit: int = 50, start_key: dict[str, Any] | None = None) -> tuple[list[dict[str, Any]], dict[str, Any] | None]: ...


@dataclass(frozen=True)
class QueueMessage:
    """One message for the change-event queue (SQS FIFO): its JSON body, and its message group and deduplication
    id (a FIFO queue needs both), or a delay (a standard queue)."""

    body: str
    group: str | None = None
    dedup_id: str | None = None
    delay_seconds: int = 0


class EventQueue(Protocol):
    """The change-event queue as the consumer uses it besides receiving (the event source mapping delivers):
    `idp.adapters.event_queue.SqsEventQueue`."""

    def url_of(self, name: str, account: str) -> str:
        """The URL of the queue `name` of `account` (a record's source ARN names both)."""
        ...

    def set_visibility(self, url: str, receipt_handle: str, seconds: int) -> None:
        """The received message comes back after `seconds`; raises when the queue refuses."""
        ...

    def send(self, url: str, message: QueueMessage) -> None: ...

    def send_batch(self, url: str, messages: list[QueueMessage]) -> list[str]:
        """Send up to 10 messages; the reasons of those not sent (empty: all sent)."""
        ...


@dataclass(frozen=True)
class QueueDepths:
    """Messages waiting in the change-event queue, being pushed now, and in its dead-letter queue (None: unreadable)."""

    backlog: int | None = None
    in_flight: int | None = None
    dead_letters: int | None = None


class EventQueueStats(Protocol):
    def depths(self) -> QueueDepths:
        """The queues' approximate counts now; what cannot be read is None (never raises: a convenience)."""
        ...


class ImportReportStore(Protocol):
    """The SP user import's match reports (idp.provisioning.import_report), kept a few days for their confirmation."""

    def put(self, slug: str, rid: str, report: dict[str, Any]) -> None: ...

    def get(self, slug: str, rid: str) -> dict[str, Any] | None:
        """The report and when it was confirmed (``confirmed_at``; None when unknown or expired)."""

    def mark_confirmed(self, slug: str, rid: str) -> bool:
        """Mark the report confirmed; False when it already was."""


@dataclass(frozen=True)
class ProvisioningStores:
    """The provisioning state's ports, one per item kind, as the composition root builds them
    (`idp.adapters.provisioning.stores.dynamo_stores`; the test support's in-memory state is every one).
    A bundle, not a facade: each part takes the ports it uses (`CreateClaims` the claims, the mappings
    and the lease; `GroupSync` the mappings and the log; ...). `clock`: the wall clock of claims and leases."""

    buffer: WriteBuffer
    mappings: MappingStore
    claims: ClaimStore
    lease: LeaseStore
    status: AppStatusStore
    access: AccessSnapshots
    log: ProvisioningLog
    clock: Callable[[], float]


class EntityReads:
    """One entity's provisioning as the admin's pages read it (the sign-in diagnosis, the console's user page): its
    mapping item and its log, each read the narrow port's own."""

    def __init__(self, mappings: MappingStore, plog: ProvisioningLog) -> None:
        self.get_map = mappings.get_map
        self.read_log = plog.read_log
        self.read_log_page = plog.read_log_page
