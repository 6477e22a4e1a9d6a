"""Groups as an administrator sees them, the use case behind the console's Groups pages (idp.web.console.groups)
and the admin API's group listing (idp.web.admin_routes): a page of groups, a group's page in one read (the group,
a page of its members by username, the apps bound to it), what deleting it takes away, and adding a member named by
username or email, recorded as done by the administrator acting. Creating, renaming and deleting a group stay with
the DirectoryService both call."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping, Protocol

from idp.app.acting import Acting
from idp.app.user_admin import Page
from idp.kernel.errors import DomainError

if TYPE_CHECKING:
    from idp.directory.service import DirectoryService


class GroupReads(Protocol):
    """What the use case reads of the directory (`idp.adapters.directory_store.DirectoryStore`)."""

    def list_groups(self, limit: int | None = None, cursor: str | None = None) -> tuple[list[dict[str, Any]], str | None]: ...

    def apps_of_group(self, gid: str) -> list[str]: ...

    def get_app(self, slug: str) -> dict[str, Any] | None: ...

    def list_members(self, gid: str) -> list[str]: ...

    def find_user_id(self, field: str, value: str) -> str | None: ...


@dataclass(frozen=True)
class GroupOverview:
    """A group's page: the group, a page of its members (by username) and the cursor of the next, its apps."""

    group: Mapping[str, Any]
    members: tuple[Mapping[str, Any], ...]
    next_cursor: str | None
    apps: tuple[Mapping[str, Any], ...]


@dataclass(frozen=True)
class GroupReach:
    """What deleting the group takes away: its memberships and the apps it gives access to."""

    group: Mapping[str, Any]
    members: int
    apps: int


class GroupAdmin:
    def __init__(self, directory: DirectoryService, reads: GroupReads) -> None:
        self.directory, self.reads = directory, reads

    def list_groups(self, limit: int | None, cursor: str | None = None) -> Page:
        """GET /admin/groups and the console's list: a page of groups by cursor."""
        items, next_cursor = self.reads.list_groups(limit, cursor)
        return Page(tuple(items), next_cursor)

    def get(self, gid: str) -> dict[str, Any]:
        """The group (404 naming the group when there is none)."""
        return self.directory.get_group(gid)

    def overview(self, gid: str, *, limit: int = 50, cursor: str | None = None) -> GroupOverview:
        group = self.get(gid)
        members, next_cursor = self.directory.list_members(gid, limit, cursor)
        apps = [a for a in (self.reads.get_app(slug) for slug in self.reads.apps_of_group(gid)) if a]
        return GroupOverview(group, tuple(sorted(members, key=lambda u: str(u.get("username") or "").lower())),
                             next_cursor, tuple(apps))

    def reach(self, gid: str) -> GroupReach:
        group = self.get(gid)
        return GroupReach(group, len(self.reads.list_members(gid)), len(self.reads.apps_of_group(gid)))

    def add_member_by_login(self, gid: str, login: str, by: Acting) -> str:
        """Add the user with this username or email (one namespace) to the group; their id. A 404 names the field
        ``member`` when no user has it (or none was given)."""
        self.get(gid)
        uid = self.reads.find_user_id("username", login) if login else None
        if not uid:
            raise DomainError(404, "not_found", f"field 'member': no user has the username or email '{login[:100]}'"
                              if login else "field 'member': enter the username or email of the user to add")
        self.directory.acting_as(by.actor, by.ip, by.user_agent).add_member(gid, uid)
        return uid
