"""The groups use case (issue 24: `idp.app.group_admin.GroupAdmin`, handed out by the container built from Settings
as a Lambda builds it): the console's group list and GET /admin/groups read the same page; a group's page is one
`overview` (members by username, bound apps); the delete confirmation's figures are its `reach`; a member is added
by username or email, recorded as the administrator acting, and an unknown one is a 404 naming the field."""
from __future__ import annotations

import json

import pytest

from idp.app.acting import Acting
from idp.app.group_admin import GroupOverview, GroupReach
from idp.bootstrap import container
from idp.kernel.audit import Actor
from idp.kernel.audit_log import AuditQuery
from idp.kernel.errors import DomainError
from idp_testing.lambda_events import LambdaContext, http_event

BY = Acting(Actor("admin", "console-admin-id"), "198.51.100.26", "console-browser")


def _user(name: str) -> dict:
    return container().directory.create_user({"username": name, "email": f"{name}@example.com",
                                              "firstname": name.title(), "lastname": "Wren"})


def test_groups_are_listed_shown_and_filled_through_it(aws_env):
    from idp.web.admin_api import admin_routers
    from idp.web.resolver import lambda_app

    directory = container().directory
    ops = directory.create_group({"name": "Ops"})
    for name in ("Design", "Sales"):
        directory.create_group({"name": name})
    uses = container().group_admin
    listed = uses.list_groups(2)
    answer = lambda_app(*admin_routers()).resolve(http_event("GET", "/admin/groups", query={"limit": "2"}), LambdaContext())
    assert answer["statusCode"] == 200 and json.loads(answer["body"]) == listed.as_json() and listed.next_cursor

    zoe, abe = _user("zoe"), _user("abe")
    assert uses.add_member_by_login(ops["id"], "zoe@example.com", BY) == zoe["id"]
    assert uses.add_member_by_login(ops["id"], "abe", BY) == abe["id"]
    container().apps.create({"slug": "wiki", "label": "Wiki", "sp_entity_id": "wiki.example.com",
                             "acs_urls": ["https://wiki.example.com/acs"]})
    directory.bind_group("wiki", ops["id"], bind=True)

    seen = uses.overview(ops["id"], limit=10)
    assert isinstance(seen, GroupOverview) and seen.group["name"] == "Ops" and seen.next_cursor is None
    assert [u["username"] for u in seen.members] == ["abe", "zoe"] and [a["slug"] for a in seen.apps] == ["wiki"]
    first = uses.overview(ops["id"], limit=1)
    assert len(first.members) == 1 and first.next_cursor
    assert uses.reach(ops["id"]) == GroupReach(seen.group, 2, 1)

    added = [e for e in container().audit.query(AuditQuery(user_id=zoe["id"]))[0] if e["type"] == "admin.group.member_added"]
    assert [(e["actor"]["id"], e["ip"]) for e in added] == [(BY.actor.id, BY.ip)], added
    for login, words in (("nobody", "no user has the username or email 'nobody'"), ("", "enter the username or email")):
        with pytest.raises(DomainError) as missing:
            uses.add_member_by_login(ops["id"], login, BY)
        assert missing.value.status == 404 and missing.value.message.startswith("field 'member'") and words in missing.value.message
    with pytest.raises(DomainError) as no_group:
        uses.overview("no-such-group")
    assert no_group.value.status == 404
