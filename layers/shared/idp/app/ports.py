"""What the use cases need from outside beyond the domain's own ports: pages of the provisioning log behind an
opaque cursor, the read scope of a request, the directory's login names and apps, and the audit log's reader. `idp.bootstrap` passes the
adapters that satisfy them."""
from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any, Callable, Protocol

from idp.kernel.audit_log import AuditQuery

ReadScope = Callable[[], AbstractContextManager[object]]
"""Opens a scope within which the directory reads users and groups in batches (`idp.adapters.read_scope`)."""


class LogPages(Protocol):
    def log_page(self, slug: str, *, user_id: str | None = None, group_id: str | None = None, limit: int = 50,
                 cursor: str | None = None) -> tuple[list[dict[str, Any]], str | None]:
        """One page of an app's provisioning log, newest first, and the cursor of the next (None at the end); a
        cursor this API did not return is a 400 naming `cursor`."""
        ...


class Logins(Protocol):
    def find_user_id(self, field: str, value: str) -> str | None:
        """The id of the user whose `field` (``username``: usernames and emails, one namespace) is `value`."""
        ...

    def get_user(self, uid: str) -> dict[str, Any] | None: ...


class AppListing(Protocol):
    def list_apps(self, limit: int | None = None, cursor: str | None = None) -> tuple[list[dict[str, Any]], str | None]:
        """A page of apps and the cursor of the next (None at the end)."""
        ...

    def get_user(self, uid: str) -> dict[str, Any] | None: ...


class AuditReader(Protocol):
    def query(self, query: AuditQuery, limit: int = 50,
              cursor: str | None = None) -> tuple[list[dict[str, Any]], str | None]:
        """One page of the audit events `query` matches, newest first, and the cursor of the next."""
        ...
