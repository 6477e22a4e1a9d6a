"""Applications as an administrator sees them, the use case behind the console's Applications pages
(idp.web.console.apps, app_sso, app_access, the app tabs' 404) and the admin API's app listing
(idp.web.admin_routes): a page of apps, an app (or the 404 naming it), a free slug for a new app's label, the
User Groups and Users tabs (a page of groups or users, searched or not, and which of them are bound) and saving
what changed there, recorded as done by the administrator acting. Creating and changing an app's settings and
keys stays with the AppService both call."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping, Protocol

from idp.app.acting import Acting
from idp.app.search import Found, scan
from idp.app.user_admin import Page
from idp.kernel.errors import invalid, not_found

if TYPE_CHECKING:
    from idp.directory.service import DirectoryService

KINDS = ("groups", "users")


class AppReads(Protocol):
    """What the use case reads of the directory (`idp.adapters.directory_store.DirectoryStore`)."""

    def get_app(self, slug: str) -> dict[str, Any] | None: ...

    def list_apps(self, limit: int | None = None, cursor: str | None = None) -> tuple[list[dict[str, Any]], str | None]: ...

    def list_users(self, limit: int | None = None, cursor: str | None = None) -> tuple[list[dict[str, Any]], str | None]: ...

    def list_groups(self, limit: int | None = None, cursor: str | None = None) -> tuple[list[dict[str, Any]], str | None]: ...

    def app_user_bindings(self, slug: str) -> list[str]: ...

    def app_group_bindings(self, slug: str) -> list[str]: ...


class UserSearch(Protocol):
    def search(self, needle: str, offset: int, limit: int) -> Found:
        """Users whose name, username or email contains `needle` (`idp.app.user_admin.UserAdmin.search`)."""
        ...


@dataclass(frozen=True)
class Bindings:
    """A page of an app's User Groups or Users tab: the groups or users shown, the cursor of the next page (a plain
    listing) or whether more follow (a search), and the ids of every group or user bound to the app."""

    kind: str
    items: tuple[Mapping[str, Any], ...]
    bound: frozenset[str]
    next_cursor: str | None = None
    more: bool = False


def slug_from(label: str) -> str:
    """A slug from a display label: lowercase letters, digits and single hyphens."""
    return re.sub(r"-{2,}", "-", re.sub(r"[^a-z0-9]+", "-", label.lower())).strip("-")[:50] or "app"


def _kind(kind: str) -> str:
    if kind not in KINDS:
        raise invalid("invalid_field", f"bindings are of 'groups' or 'users', not '{kind[:30]}'")
    return kind


class AppAdmin:
    def __init__(self, reads: AppReads, directory: DirectoryService, users: UserSearch) -> None:
        self.reads, self.directory, self.users = reads, directory, users

    def get(self, slug: str) -> dict[str, Any]:
        """The app as stored (404 naming the application when there is none)."""
        app = self.reads.get_app(slug)
        if not app:
            raise not_found("application", slug)
        return app

    def list_apps(self, limit: int | None, cursor: str | None = None) -> Page:
        """A page of apps and the cursor of the next (GET /admin/apps shows each through `app_view`)."""
        items, next_cursor = self.reads.list_apps(limit, cursor)
        return Page(tuple(items), next_cursor)

    def free_slug(self, label: str) -> str:
        """The label's slug, with -2, -3, ... when an app already has it."""
        base = slug_from(label)
        slug, n = base, 1
        while self.reads.get_app(slug):
            n += 1
            slug = f"{base}-{n}"
        return slug

    def bound(self, slug: str, kind: str) -> frozenset[str]:
        """The ids of the groups (or users) bound to the app."""
        if _kind(kind) == "groups":
            return frozenset(self.reads.app_group_bindings(slug))
        return frozenset(self.reads.app_user_bindings(slug))

    def bindings(self, slug: str, kind: str, *, needle: str = "", offset: int = 0, limit: int = 50,
                 cursor: str | None = None) -> Bindings:
        """A page of groups or users for the app's tab: those whose name contains `needle` from `offset`, or else
        the page at `cursor`; with the ids bound to the app."""
        self.get(slug)
        bound = self.bound(slug, kind)
        if needle:
            found = self._search_groups(needle, offset, limit) if kind == "groups" else self.users.search(needle, offset, limit)
            return Bindings(kind, found.items, bound, more=found.more)
        listing = self.reads.list_groups if kind == "groups" else self.reads.list_users
        items, next_cursor = listing(limit, cursor)
        return Bindings(kind, tuple(items), bound, next_cursor=next_cursor)

    def save_bindings(self, slug: str, kind: str, bind: list[str], unbind: list[str], by: Acting) -> None:
        """Bind and unbind these groups (or users), each as PUT|DELETE /admin/apps/{slug}/groups|users/{id} does."""
        self.get(slug)
        directory = self.directory.acting_as(by.actor, by.ip, by.user_agent)
        change = directory.bind_group if _kind(kind) == "groups" else directory.bind_user
        for ident in bind:
            change(slug, ident, bind=True)
        for ident in unbind:
            change(slug, ident, bind=False)

    def _search_groups(self, needle: str, offset: int, limit: int) -> Found:
        needle = needle.lower()
        return scan(self.reads.list_groups, lambda g: needle in str(g.get("name") or "").lower(), offset, limit)
