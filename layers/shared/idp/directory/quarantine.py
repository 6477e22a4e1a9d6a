"""Released login names. A username or email a user gave up (the user was deleted, or changed it) stays
unusable by another user for a quarantine period (``IDP_RELEASED_NAME_QUARANTINE_DAYS``, 30 by default):
an SP that knows people by that NameID (the email, at every SSO-only SP) would otherwise take the new user
for the old one, with the old one's data and rights there. The user who released a name may take it back;
an administrator may hand it to another user at once with ``"confirm_reuse": true``, which is audited.

Pure rules; the store keeps a marker per released name (``owner``, ``released_at``, ``until``) and checks
it in the transaction that claims the name."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import TypeGuard

from idp.kernel.errors import DomainError

DEFAULT_DAYS = 30
CONFIRM_FIELD = "confirm_reuse"


def until(days: int, now: datetime | None = None) -> str:
    """When a name released now leaves quarantine (ISO, UTC, to the second)."""
    end = (now or datetime.now(timezone.utc)) + timedelta(days=days)
    return end.replace(microsecond=0).isoformat().replace("+00:00", "Z")


def holds(marker: dict | None, uid: str | None, now_iso: str) -> TypeGuard[dict]:
    """Whether a released name's marker keeps user ``uid`` (None: a user not created yet) from it now."""
    return marker is not None and marker.get("owner") != uid and str(marker.get("until") or "") > now_iso


def conflict(what: str, value: str, marker: dict) -> DomainError:
    """The 409 naming the quarantine, the date it ends and how an administrator confirms the reuse."""
    released = str(marker.get("released_at") or "")[:10] or "recently"
    return DomainError(409, "quarantined", (
        f"{what} '{value}' was released by another user on {released} and is quarantined until {marker.get('until')} "
        f"(usernames and emails share one namespace; an SP could take the new user for the old one); "
        f"to give it to this user now, confirm the reuse with \"{CONFIRM_FIELD}\": true"))
