"""What every part of the product says the same way about a directory user."""
from __future__ import annotations


def display_name(user: dict) -> str:
    """The name shown for a user (SAML `name`, SCIM `displayName`, the portal): `displayname` when set,
    else first and last name, else the username."""
    shown = str(user.get("displayname") or "").strip()
    if shown:
        return shown
    joined = " ".join(str(p).strip() for p in (user.get("firstname"), user.get("lastname")) if p and str(p).strip())
    return joined or str(user.get("username") or "")
