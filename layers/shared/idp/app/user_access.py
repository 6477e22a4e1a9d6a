"""Which apps a user may use, and through what (the access rule, `idp.kernel.access`): the console's user page
and the sign-in diagnosis (GET /admin/apps/{slug}/users/{id}/diagnosis) ask it here, from one Query of the
user's partition (profile, direct bindings, memberships) instead of reading the app's binding items."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from idp.kernel import access


class AccessReads(Protocol):
    """What the question reads of the directory (`idp.adapters.directory_store.DirectoryStore`)."""

    def user_record(self, uid: str) -> tuple[dict[str, Any] | None, list[str], list[str]]: ...

    def app_group_bindings(self, slug: str) -> list[str]: ...

    def apps_of_group(self, gid: str) -> list[str]: ...

    def get_app(self, slug: str) -> dict[str, Any] | None: ...

    def get_group(self, gid: str) -> dict[str, Any] | None: ...


@dataclass(frozen=True)
class AppAccess:
    """The user's access to one app: bound directly, and/or through these bound groups (ids, and names)."""

    slug: str
    label: str
    direct: bool
    groups: tuple[str, ...]
    group_names: tuple[str, ...]

    @property
    def allowed(self) -> bool:
        return access.is_bound(directly=self.direct, user_groups=self.groups, app_groups=self.groups)


class UserAccess:
    def __init__(self, directory: AccessReads):
        self.directory = directory

    def to_app(self, slug: str, uid: str) -> AppAccess:
        """The user's access to `slug` (denied unless bound: `direct` False and no groups)."""
        _, apps, groups = self.directory.user_record(uid)
        return self._of(slug, (self.directory.get_app(slug) or {}), slug in apps, set(groups))

    def apps_of(self, uid: str) -> list[AppAccess]:
        """Every app the user may use, by slug."""
        _, apps, groups = self.directory.user_record(uid)
        slugs = access.apps_of_user(direct_apps=apps, groups=groups, apps_of_group=self.directory.apps_of_group)
        rows = []
        for slug in sorted(slugs):
            app = self.directory.get_app(slug)
            if app:
                rows.append(self._of(slug, app, slug in apps, set(groups)))
        return rows

    def _of(self, slug: str, app: dict[str, Any], direct: bool, groups: set[str]) -> AppAccess:
        via = tuple(sorted(g for g in self.directory.app_group_bindings(slug) if g in groups))
        names = tuple(sorted((self.directory.get_group(g) or {}).get("name", g) for g in via))
        return AppAccess(slug=slug, label=str(app.get("label") or slug), direct=direct, groups=via, group_names=names)
