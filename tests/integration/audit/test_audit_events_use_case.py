"""The audit events use case (issue 24: `idp.app.audit_events.AuditEvents`, handed out by the container built from
Settings as a Lambda builds it): GET /admin/events answers its `page`, the console's Events page its `search`, which
finds the user by username or email, refuses one nobody has (400 naming it) and names the users and actors shown."""
from __future__ import annotations

import json

import pytest

from idp.app.audit_events import EventPage
from idp.bootstrap import container
from idp.kernel.audit import Actor
from idp.kernel.errors import DomainError
from idp_testing.lambda_events import LambdaContext, http_event


def test_the_admin_api_and_the_console_read_the_same_events(aws_env):
    from idp.web.admin_api import admin_routers
    from idp.web.resolver import lambda_app

    boss = container().directory.create_user({"username": "boss", "email": "boss@example.com", "firstname": "Bo",
                                              "lastname": "Ss", "roles": ["admin"]})
    acting = container().directory.acting_as(Actor("admin", boss["id"]), "198.51.100.30", "console")
    ivy = acting.create_user({"username": "ivy", "email": "ivy@example.com", "firstname": "Ivy", "lastname": "Lane"})
    acting.update_user(ivy["id"], {"title": "Lead"})

    uses = container().audit_events
    api_page = uses.page({"user_id": ivy["id"], "type": "admin.*"}, limit=10)
    assert isinstance(api_page, EventPage) and [e["type"] for e in api_page.items] == ["admin.user.updated",
                                                                                         "admin.user.created"]
    answer = lambda_app(*admin_routers()).resolve(
        http_event("GET", "/admin/events", query={"user_id": ivy["id"], "type": "admin.*", "limit": "10"}), LambdaContext())
    assert answer["statusCode"] == 200 and json.loads(answer["body"]) == api_page.as_json()

    by_email = uses.search(user="ivy@example.com", type="admin.*", limit=10)
    assert by_email.items == api_page.items
    assert by_email.names == {ivy["id"]: "ivy", boss["id"]: "boss"}  # the user and the administrator who acted
    one = uses.search(user="ivy", limit=1)
    assert len(one.items) == 1 and one.next_cursor
    assert uses.search(user="ivy", limit=1, cursor=one.next_cursor).items[0]["id"] != one.items[0]["id"]

    with pytest.raises(DomainError) as nobody:
        uses.search(user="nobody@example.com")
    assert (nobody.value.status, nobody.value.message) == (400, "no user has the username or email 'nobody@example.com'")
    with pytest.raises(DomainError) as bad:
        uses.search(outcome="maybe")
    assert bad.value.status == 400 and "outcome" in bad.value.message
