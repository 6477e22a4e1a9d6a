"""Who may use an app: users are implicitly denied unless bound directly or through a group."""
from __future__ import annotations


def may_use(store, slug: str, uid: str) -> bool:
    """True when the user is bound to the app directly or through one of their groups."""
    if store.has_edge(f"APP#{slug}", f"BIND#USER#{uid}"):
        return True
    bound_groups = set(store.app_group_bindings(slug))
    return any(gid in bound_groups for gid in store.groups_of_user(uid))


def apps_for_user(store, uid: str) -> list[str]:
    """Slugs of every app the user may use."""
    slugs = set(store.apps_of_user(uid))
    for gid in store.groups_of_user(uid):
        slugs.update(store.apps_of_group(gid))
    return sorted(slugs)


def users_of_app(store, slug: str) -> set[str]:
    """Every user id that may use the app."""
    uids = set(store.app_user_bindings(slug))
    for gid in store.app_group_bindings(slug):
        uids.update(store.list_members(gid))
    return uids
