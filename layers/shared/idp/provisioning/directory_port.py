"""What provisioning needs from the directory. `idp.directory.store.DirectoryStore` satisfies it
(same method names); unit tests use `InMemoryDirectory` from the tests."""
from __future__ import annotations

from typing import Protocol, runtime_checkable


@runtime_checkable
class DirectoryPort(Protocol):
    def get_user(self, uid: str) -> dict | None:
        """id, username, email, firstname, lastname, displayname, title, department,
        employee_id, phone, location, state (ACTIVE|SUSPENDED); None when deleted."""

    def get_group(self, gid: str) -> dict | None:
        """id, name, description; None when deleted."""

    def list_members(self, gid: str) -> list[str]: ...

    def groups_of_user(self, uid: str) -> list[str]: ...

    def get_app(self, slug: str) -> dict | None:
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
