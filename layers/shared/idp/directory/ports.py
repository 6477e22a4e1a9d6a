"""The ports of the directory: where it stores, where it publishes change events, where secrets live,
and what sign-on must hear (a password set, every session of a user to end). The adapters and the
composition root satisfy them; tests pass fakes."""
from __future__ import annotations

from typing import TYPE_CHECKING, Iterable, Protocol, Sequence, TypedDict

from idp.kernel.events import ChangeEvent

if TYPE_CHECKING:
    from idp.directory.password_policy import PasswordPolicy


class OutboxItem(TypedDict):
    """An event the outbox still holds: ``sk`` is its key there."""

    sk: str
    event: ChangeEvent


class Publisher(Protocol):
    def publish(self, events: Sequence[ChangeEvent]) -> list[ChangeEvent]:
        """Send the events; return those that could not be sent."""


class SignonHooks(Protocol):
    """Sign-on, as the directory tells it what changed (idp.directory may not import idp.signon)."""

    def password_set(self, uid: str) -> None:
        """A password was set for the user (at creation or later): password logins are about to happen."""

    def end_sessions(self, uid: str, reason: str) -> None:
        """Every IdP session of the user ends now (``password_changed``, ``suspended``, ``mfa_reset``, ``revoked``)."""


class DirectoryRepository(Protocol):
    """Users, groups, membership, apps, bindings and the outbox, stored; `events_for(obj)` gives the change
    events that are written in the same transaction. `idp.adapters.directory_store.DirectoryStore` is the real one."""

    def create_user(self, fields: dict, password_hash: str | None, events_for, confirm_reuse: bool = False) -> dict:
        """`confirm_reuse`: the user may take a login name another user released (idp.directory.quarantine)."""

    def create_users(self, many: list[dict], events_for) -> list[dict]:
        """Several users (no password) in one transaction, all or none."""

    def released_name(self, value: str) -> dict | None:
        """The marker of a login name a user released (`owner`, `released_at`, `until`), or None."""

    def get_user_item(self, uid: str) -> dict | None: ...

    def get_user(self, uid: str) -> dict | None: ...

    def find_user_id(self, field: str, value: str) -> str | None: ...

    def list_users(self, limit: int | None = None, cursor: str | None = None) -> tuple[list[dict], str | None]: ...

    def all_user_ids(self) -> list[str]: ...

    def update_user(self, uid: str, changes: dict, password_hash: str | None, events_for,
                    confirm_reuse: bool = False, before: dict | None = None) -> dict: ...

    def delete_user(self, uid: str, events_for) -> None: ...

    def create_group(self, fields: dict, events_for) -> dict: ...

    def get_group(self, gid: str) -> dict | None: ...

    def list_groups(self, limit=None, cursor=None): ...

    def all_group_ids(self) -> list[str]: ...

    def update_group(self, gid: str, changes: dict, events_for) -> dict: ...

    def delete_group(self, gid: str, events_for) -> None: ...

    def add_member(self, gid: str, uid: str, events: Sequence[ChangeEvent]) -> None: ...

    def remove_member(self, gid: str, uid: str, events: Sequence[ChangeEvent]) -> None: ...

    def is_member(self, gid: str, uid: str) -> bool:
        """The user is a member of the group."""

    def user_bound(self, slug: str, uid: str) -> bool:
        """The user is bound to the app directly (not through a group)."""

    def group_bound(self, slug: str, gid: str) -> bool:
        """The group is bound to the app."""

    def list_members(self, gid: str) -> list[str]: ...

    def members_page(self, gid: str, limit=None, cursor=None) -> tuple[list[str], str | None]: ...

    def groups_of_user(self, uid: str) -> list[str]: ...

    def groups_of_user_among(self, uid: str, gids) -> list[str]:
        """Which of `gids` the user is a member of (the access check reads only those memberships)."""

    def create_app(self, app: dict, events_for) -> dict: ...

    def get_app(self, slug: str) -> dict | None: ...

    def list_apps(self, limit: int | None = None, cursor: str | None = None) -> tuple[list[dict], str | None]: ...

    def all_app_slugs(self) -> list[str]: ...

    def update_app(self, slug: str, changes: dict, events_for) -> dict: ...

    def delete_app(self, slug: str) -> None: ...

    def bind_user(self, slug: str, uid: str, events: Sequence[ChangeEvent]) -> None: ...

    def unbind_user(self, slug: str, uid: str, events: Sequence[ChangeEvent]) -> None: ...

    def bind_group(self, slug: str, gid: str, events: Sequence[ChangeEvent]) -> None: ...

    def unbind_group(self, slug: str, gid: str, events: Sequence[ChangeEvent]) -> None: ...

    def app_user_bindings(self, slug: str) -> list[str]: ...

    def app_group_bindings(self, slug: str) -> list[str]: ...

    def apps_of_user(self, uid: str) -> list[str]: ...

    def apps_of_group(self, gid: str) -> list[str]: ...

    def get_source(self, sid: str, consistent: bool = True) -> dict | None:
        """An identity source (its name names it in an owned_by_source refusal)."""

    def pending_outbox(self, limit: int = 100) -> list[OutboxItem]: ...

    def clear_outbox(self, sks: Iterable[str]) -> None: ...


class PasswordPolicyRepository(Protocol):
    """Where the password policy is kept (`idp.adapters.password_policy_store.PasswordPolicyStore`)."""

    def get_policy(self) -> "PasswordPolicy":
        """The stored policy, or the defaults when none was ever set."""

    def put_policy(self, policy: "PasswordPolicy") -> None: ...


class Secrets(Protocol):
    """Secrets by relative name (`apps/{slug}/scim-token`); never stored in table items."""

    def put(self, name: str, value: str) -> None: ...

    def create(self, name: str, value: str) -> bool:
        """Store only if absent; True when stored. Never reads the value."""

    def get(self, name: str) -> str | None: ...

    def invalidate(self, name: str) -> None: ...

    def delete(self, name: str) -> None: ...

    def delete_prefix(self, name: str) -> None: ...


class UserImportStore(Protocol):
    """Where a CSV import of users lives between its preview and its last applied row
    (`idp.adapters.user_import_store.DynamoUserImportStore`): a head (status facts, summary, who confirmed),
    the rows to apply cut into chunks (one job message each), and one result per applied chunk."""

    def users(self) -> Iterable[dict]:
        """Every user of the directory (the planner matches the file against them)."""

    def released_names(self, names: list[str]) -> dict[str, dict]:
        """The released-name markers among ``names`` (lower case), by name."""

    def save_preview(self, import_id: str, head: dict, chunks: list[list[dict]]) -> None: ...

    def head(self, import_id: str) -> dict | None: ...

    def confirm(self, import_id: str, changes: dict) -> bool:
        """Mark the preview confirmed with ``changes`` (once: False when it was confirmed already)."""

    def unconfirm(self, import_id: str) -> None:
        """Undo a confirmation whose job could not be queued (the administrator may confirm again)."""

    def chunk(self, import_id: str, n: int) -> list[dict]: ...

    def chunk_result(self, import_id: str, n: int) -> dict | None: ...

    def finish_chunk(self, import_id: str, n: int, result: dict) -> bool:
        """Record a chunk's result once (False when a delivery before this one did)."""

    def results(self, import_id: str) -> list[dict]: ...


class ImportJobQueue(Protocol):
    def enqueue(self, import_id: str, chunks: int) -> None:
        """Queue one job message per chunk of an import's rows (raises when they could not all be queued)."""
