"""The audit log as an administrator reads it (contract section 8), the use case behind GET /admin/events
(idp.web.audit_routes) and the console's Events page (idp.web.console.events): a page of events, newest first,
filtered by type, user, app, outcome and time, behind the log's cursor. The console names the user by username or
email and shows the usernames of the users and actors on the page: `search` answers them too."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from idp.app.ports import AuditReader, Logins
from idp.kernel.audit_log import AuditQuery
from idp.kernel.errors import DomainError


@dataclass(frozen=True)
class EventPage:
    """A page of events and the cursor of the next (None at the end); `names`: user id → username of the users
    and actors on the page (`search` only)."""

    items: tuple[Mapping[str, Any], ...]
    next_cursor: str | None
    names: Mapping[str, str] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {"items": [dict(i) for i in self.items], "next_cursor": self.next_cursor}


class AuditEvents:
    def __init__(self, audit: AuditReader, logins: Logins) -> None:
        self.audit, self.logins = audit, logins

    def page(self, params: Mapping[str, str], *, limit: int, cursor: str | None = None) -> EventPage:
        """GET /admin/events: ``type``, ``user_id``, ``app``, ``outcome``, ``since``, ``until`` as the query gives
        them (a bad one is a 400 naming it)."""
        items, next_cursor = self.audit.query(AuditQuery.from_params(params), limit, cursor)
        return EventPage(tuple(items), next_cursor)

    def search(self, *, type: str = "", user: str = "", app: str = "", outcome: str = "", limit: int = 50,
               cursor: str | None = None) -> EventPage:
        """The console's filters: `user` is a username or email (400 when no user has it); with the usernames."""
        uid = ""
        if user:
            uid = self.logins.find_user_id("username", user) or ""
            if not uid:
                raise DomainError(400, "invalid_query", f"no user has the username or email '{user[:100]}'")
        found = self.page({"type": type, "app": app, "outcome": outcome, "user_id": uid}, limit=limit, cursor=cursor)
        idents = {i for item in found.items for i in (item.get("user_id"), (item.get("actor") or {}).get("id")) if i}
        names = {ident: str((self.logins.get_user(ident) or {}).get("username", ident)) for ident in idents}
        return EventPage(found.items, found.next_cursor, names)
