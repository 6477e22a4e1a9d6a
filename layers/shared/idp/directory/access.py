"""Who may use an app, read from the directory store (the rule itself is `idp.kernel.access`)."""
from __future__ import annotations

from idp.directory.ports import DirectoryRepository
from idp.kernel import access


def may_use(store: DirectoryRepository, slug: str, uid: str) -> bool:
    """True when the user is bound to the app directly or through one of their groups (the groups are
    read only when there is no direct binding, and only the memberships of the app's groups). The direct
    binding is read as its mirror under the user (written in the same transaction; the store's `user_bound`): every
    sign-in to an app reading the app's partition would make it a hot key (issue 25)."""
    if store.user_bound(slug, uid):
        return True
    app_groups = store.app_group_bindings(slug)
    return access.is_bound(directly=False, user_groups=store.groups_of_user_among(uid, app_groups) if app_groups else (),
                           app_groups=app_groups)


def apps_for_user(store: DirectoryRepository, uid: str) -> list[str]:
    """Slugs of every app the user may use."""
    return sorted(access.apps_of_user(direct_apps=store.apps_of_user(uid), groups=store.groups_of_user(uid),
                                      apps_of_group=store.apps_of_group))


def users_of_app(store: DirectoryRepository, slug: str) -> set[str]:
    """Every user id that may use the app."""
    uids = set(store.app_user_bindings(slug))
    for gid in store.app_group_bindings(slug):
        uids.update(store.list_members(gid))
    return uids
