"""The applications use case (issue 24: `idp.app.app_admin.AppAdmin`, handed out by the container built from
Settings as a Lambda builds it): the console's app list and GET /admin/apps read the same page; a new app's slug is
free; the User Groups and Users tabs are one `bindings` read (searched or paged, with the ids bound) and their Save
one `save_bindings`, recorded as the administrator acting, each binding as PUT|DELETE /admin/apps/... does."""
from __future__ import annotations

import json

import pytest

from idp.app.acting import Acting
from idp.app.app_admin import Bindings, slug_from
from idp.bootstrap import container
from idp.kernel.audit import Actor
from idp.kernel.audit_log import AuditQuery
from idp.kernel.errors import DomainError
from idp_testing.lambda_events import LambdaContext, http_event

BY = Acting(Actor("admin", "console-admin-id"), "198.51.100.24", "console-browser")


def _app(slug: str, label: str) -> dict:
    return container().apps.create({"slug": slug, "label": label, "sp_entity_id": f"{slug}.example.com",
                                    "acs_urls": [f"https://{slug}.example.com/acs"]})


def _user(name: str) -> dict:
    return container().directory.create_user({"username": name, "email": f"{name}@example.com",
                                              "firstname": name.title(), "lastname": "Rook"})


def test_the_console_and_the_admin_api_list_the_same_apps(aws_env):
    from idp.web.admin_api import admin_routers
    from idp.web.resolver import lambda_app

    for slug in ("alpha", "beta", "gamma"):
        _app(slug, slug.title())
    listed = container().app_admin.list_apps(2)
    answer = lambda_app(*admin_routers()).resolve(http_event("GET", "/admin/apps", query={"limit": "2"}), LambdaContext())
    body = json.loads(answer["body"])
    assert answer["statusCode"] == 200 and [a["slug"] for a in body["items"]] == [a["slug"] for a in listed.items]
    assert body["next_cursor"] == listed.next_cursor and listed.next_cursor
    assert container().app_admin.get("beta")["label"] == "Beta"
    with pytest.raises(DomainError) as missing:
        container().app_admin.get("nope")
    assert (missing.value.status, missing.value.message) == (404, "application 'nope' does not exist")


def test_a_new_apps_slug_is_free(aws_env):
    assert slug_from("  Office Space -- EU!") == "office-space-eu" and slug_from("!!!") == "app"
    assert container().app_admin.free_slug("Office Space") == "office-space"
    _app("office-space", "Office Space")
    _app("office-space-2", "Office Space 2")
    assert container().app_admin.free_slug("Office Space") == "office-space-3"


def test_the_access_tabs_read_and_save_through_it(aws_env):
    _app("wiki", "Wiki")
    ops = container().directory.create_group({"name": "Ops"})
    devs = container().directory.create_group({"name": "Developers"})
    ann, bob = _user("ann"), _user("bob")

    uses = container().app_admin
    uses.save_bindings("wiki", "groups", [ops["id"], devs["id"]], [], BY)
    uses.save_bindings("wiki", "users", [ann["id"]], [], BY)
    uses.save_bindings("wiki", "groups", [], [devs["id"]], BY)

    groups = uses.bindings("wiki", "groups", limit=10)
    assert isinstance(groups, Bindings) and groups.bound == {ops["id"]}
    assert {g["name"] for g in groups.items} == {"Ops", "Developers"} and groups.next_cursor is None
    searched = uses.bindings("wiki", "groups", needle="DEV", limit=10)
    assert [g["name"] for g in searched.items] == ["Developers"] and not searched.more
    users = uses.bindings("wiki", "users", needle="rook", offset=0, limit=1)
    assert len(users.items) == 1 and users.more and users.bound == {ann["id"]}
    assert container().store.app_user_bindings("wiki") == [ann["id"]] and bob["id"] not in users.bound

    events, _ = container().audit.query(AuditQuery(app="wiki"))
    binds = [e for e in events if e["type"].endswith(("_bound", "_unbound"))]
    assert len(binds) == 4, events
    assert binds and all(e["actor"] == {"type": "admin", "id": BY.actor.id} and e["ip"] == BY.ip for e in binds), events

    for call in (lambda: uses.bindings("nope", "users"), lambda: uses.save_bindings("nope", "users", [ann["id"]], [], BY)):
        with pytest.raises(DomainError) as missing:
            call()
        assert missing.value.status == 404
    with pytest.raises(DomainError) as wrong:
        uses.bindings("wiki", "apps")
    assert wrong.value.status == 400 and "'groups' or 'users'" in wrong.value.message
