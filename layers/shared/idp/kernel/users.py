"""What every part of the product says the same way about a directory user: its name, and whether it is active.

A user record is read as a ``Mapping[str, object]``: the directory's stored item, the dict the domain hands
around, or a typed record (a TypedDict is such a mapping)."""
from __future__ import annotations

from typing import Final, Mapping

#: The two states of a directory user (contract section 2: ``state`` is ACTIVE, the default, or SUSPENDED).
ACTIVE: Final = "ACTIVE"
SUSPENDED: Final = "SUSPENDED"


def state_is_active(state: object) -> bool:
    """Whether a user in ``state`` may sign in and is provisioned active: only ACTIVE is (a suspended user,
    or any state this code does not know, is not)."""
    return state == ACTIVE


def is_active(user: Mapping[str, object]) -> bool:
    """The one rule for "the user is active" (sign-in, SSO, provisioning, the diagnosis): ``state`` is ACTIVE,
    which a record without the field is (the directory's default)."""
    return state_is_active(user.get("state", ACTIVE))


#: The role that makes a user an administrator of this identity provider (the console lets them in).
ADMIN_ROLE: Final = "admin"


def is_admin(user: Mapping[str, object] | None) -> bool:
    """The one rule for "the user is an administrator": the admin role among the user's roles."""
    roles = user.get("roles") if user else None
    return isinstance(roles, (list, tuple, set, frozenset)) and ADMIN_ROLE in roles


def display_name(user: Mapping[str, object]) -> str:
    """The name shown for a user (SAML `name`, SCIM `displayName`, the portal): `displayname` when set,
    else first and last name, else the username."""
    shown = str(user.get("displayname") or "").strip()
    if shown:
        return shown
    joined = " ".join(str(p).strip() for p in (user.get("firstname"), user.get("lastname")) if p and str(p).strip())
    return joined or str(user.get("username") or "")
