"""The access rule: users are implicitly denied; a user may use an app only when bound to it
directly or through one of their groups. The one statement of it that sign-in, the portal and
provisioning all apply."""
from __future__ import annotations

from typing import Callable, Iterable


def is_bound(*, directly: bool, user_groups: Iterable[str], app_groups: Iterable[str]) -> bool:
    """True when the user is bound to the app directly, or one of the user's groups is bound to it."""
    return directly or not set(user_groups).isdisjoint(app_groups)


def apps_of_user(*, direct_apps: Iterable[str], groups: Iterable[str],
                 apps_of_group: Callable[[str], Iterable[str]]) -> set[str]:
    """Every app the user may use."""
    slugs = set(direct_apps)
    for gid in groups:
        slugs.update(apps_of_group(gid))
    return slugs
