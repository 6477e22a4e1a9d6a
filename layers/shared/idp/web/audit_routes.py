"""The audit log over HTTP (contract section 8): GET /admin/events?type=&user_id=&app=&outcome=&since=&until=&limit=&cursor=
→ newest first, ``{"items": [event], "next_cursor"}``."""
from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query
from pydantic import BaseModel, ConfigDict, Field

from idp.bootstrap import container
from idp.web import api_models as api
from idp.web.api_models import Cursor, LogLimit, ok
from idp.web.auth import admin_middleware
from idp.web.http import page_limit
from idp.web.request import current_request

router = Router()
router.typed = True
router.use([admin_middleware])


class ActorView(BaseModel):
    model_config = ConfigDict(defer_build=True)
    type: str = Field(description="user, admin or system")
    id: str | None = None


class EventView(BaseModel):
    """One audit event; absent facts are left out."""

    model_config = ConfigDict(defer_build=True, extra="allow", json_schema_extra={"examples": [{
        "id": "ev-82...", "at": "2026-12-01T09:00:00.000Z", "type": "sso", "outcome": "failure",
        "actor": {"type": "user", "id": "u-1"}, "user_id": "u-1", "app": "officespace", "ip": "198.51.100.7",
        "user_agent": "Mozilla/5.0", "reason": "not_bound"}]})
    id: str
    at: str
    type: str = Field(description="login, mfa, sso, logout, lockout, admin.<resource>.<action>, provisioning, key")
    outcome: str = Field(description="success or failure")
    actor: ActorView
    user_id: str | None = None
    app: str | None = None
    ip: str | None = None
    user_agent: str | None = None
    reason: str | None = Field(default=None, description="a code: not_bound, suspended, acs_not_registered, ...")
    changes: list[str] | None = Field(default=None, description="names of the fields whose value an admin change changed")
    detail: dict[str, Any] | None = Field(default=None, description="short non-secret facts; an admin change's "
                                          "changed values under 'before' and 'after' (never a secret's)")


class EventPage(BaseModel):
    model_config = ConfigDict(defer_build=True)
    items: list[EventView]
    next_cursor: str | None


def _text(description: str):
    return Annotated[str | None, Query(description=description)]


@router.get("/admin/events", tags=["audit"], summary="The audit log, newest first", security=api.SECURITY,
            responses=ok(200, EventPage, "a page of events", 400))
def list_events(type: _text("an event type, e.g. sso or admin.user.updated; admin.* for every type under admin.") = None,  # the contract's name
                user_id: _text("events about this user") = None, app: _text("events about this app (slug)") = None,
                outcome: _text("success or failure") = None, since: _text("ISO 8601, inclusive") = None,
                until: _text("ISO 8601, inclusive") = None, limit: LogLimit = None, cursor: Cursor = None):
    request = current_request(router, with_form=False)
    return container().audit_events.page(request.query, limit=page_limit(request, maximum=500),
                                         cursor=request.query.get("cursor")).as_json()
