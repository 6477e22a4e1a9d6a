"""The users use case (issue 24: `idp.app.user_admin.UserAdmin`, handed out by the container built from Settings as
a Lambda builds it): the console's user page is one `overview` (the user, groups, access per app and through what,
provisioning per app against scim2-server, factors, every app); the admin API and the console list, search, send
links and reset MFA through it, each change recorded as done by the administrator acting, from their client."""
from __future__ import annotations

import json

import pytest

from idp.app.acting import Acting
from idp.app.search import Found
from idp.app.user_access import AppAccess
from idp.app.user_admin import Page, UserOverview
from idp.bootstrap import container
from idp.kernel.audit import API_ADMIN, Actor
from idp.kernel.audit_log import AuditQuery
from idp.kernel.errors import DomainError
from idp_testing.lambda_events import LambdaContext, http_event
from idp_testing.scim_server import ScimServer

TOKEN = "user-admin-scim-token-5"
PASSWORD = "Violet-Harbor-Lantern-42"
CONSOLE = Acting(Actor("admin", "console-admin-id"), "198.51.100.23", "console-browser")


@pytest.fixture
def api(aws_env):
    """The admin API's routes in their own resolver over the process's container, as the admin function."""
    from idp.web.admin_api import admin_routers
    from idp.web.resolver import lambda_app

    admin_api = lambda_app(*admin_routers())

    def call(method: str, path: str, body: dict | None = None, query: dict | None = None) -> tuple[int, dict]:
        answer = admin_api.resolve(http_event(method, path, body, query=query), LambdaContext())
        return answer["statusCode"], json.loads(answer["body"]) if answer.get("body") else {}

    return call


def _user(name: str, **extra) -> dict:
    return container().directory.create_user({"username": name, "email": f"{name}@example.com",
                                              "firstname": name.title(), "lastname": "Quill", **extra})


def test_the_user_page_is_one_overview_of_groups_access_and_factors(aws_env):
    dana = _user("dana", roles=["admin"])
    directory = container().directory
    ops = directory.create_group({"name": "Ops"})
    design = directory.create_group({"name": "design"})
    directory.add_member(ops["id"], dana["id"])
    container().apps.create({"slug": "wiki", "label": "Wiki", "sp_entity_id": "wiki.example.com",
                             "acs_urls": ["https://wiki.example.com/acs"]})
    container().apps.create({"slug": "crm", "label": "CRM", "sp_entity_id": "crm.example.com",
                             "acs_urls": ["https://crm.example.com/acs"]})
    directory.bind_group("wiki", ops["id"], bind=True)
    directory.bind_user("wiki", dana["id"], bind=True)

    seen = container().user_admin.overview(dana["id"])

    assert isinstance(seen, UserOverview) and seen.is_admin and seen.user["username"] == "dana"
    assert [g["name"] for g in seen.groups] == ["Ops"] and [g["name"] for g in seen.other_groups] == ["design"]
    assert seen.access == (AppAccess("wiki", "Wiki", True, (ops["id"],), ("Ops",)),)  # not crm: not bound
    assert seen.provisioning == () and seen.factors == ()
    assert sorted(a["slug"] for a in seen.all_apps) == ["crm", "wiki"]
    assert design["id"] not in {g["id"] for g in seen.groups}
    with pytest.raises(DomainError) as missing:
        container().user_admin.overview("no-such-user")
    assert (missing.value.status, missing.value.code) == (404, "not_found")


def test_the_user_page_shows_the_users_provisioning_per_app(aws_env):
    scim = ScimServer(token=TOKEN)
    try:
        erin = _user("erin")
        container().apps.create({"slug": "os", "label": "OfficeSpace", "sp_entity_id": "acme.officespacesoftware.com",
                                 "acs_urls": ["https://acme.officespacesoftware.com/users/sign_in/saml"]})
        container().apps.put_provisioning("os", {"base_url": scim.base_url, "token": TOKEN, "enabled": True})
        container().directory.bind_user("os", erin["id"], bind=True)
        assert container().provisioning_admin.provision_user("os", erin["id"]).ok

        (row,) = container().user_admin.overview(erin["id"]).provisioning
    finally:
        scim.close()
    assert (row.slug, row.label, row.mapping["status"]) == ("os", "OfficeSpace", "synced")
    assert row.mapping["scim_id"] and row.log and row.log[0]["outcome"] == "success", row


def test_the_admin_api_and_the_console_list_and_search_through_it(aws_env, api):
    for name in ("amy", "bert", "carla"):
        _user(name)
    listed = container().user_admin.list_users(2)
    assert isinstance(listed, Page) and len(listed.items) == 2 and listed.next_cursor
    status, body = api("GET", "/admin/users", query={"limit": "2"})
    assert status == 200 and body == listed.as_json()

    found = container().user_admin.search("CAR", 0, 10)
    assert isinstance(found, Found) and [u["username"] for u in found.items] == ["carla"] and not found.more
    many = container().user_admin.search("quill", 0, 2)  # every lastname: a page of 2, more follow
    assert len(many.items) == 2 and many.more


def test_an_administrator_cannot_suspend_or_delete_themself(aws_env):
    me = _user("moira", roles=["admin"])
    by = Acting(Actor("admin", me["id"]), "198.51.100.23", "console-browser")
    for change in (lambda: container().user_admin.set_state(me["id"], "SUSPENDED", by),
                   lambda: container().user_admin.delete(me["id"], by)):
        with pytest.raises(DomainError) as refused:
            change()
        assert (refused.value.status, refused.value.code) == (400, "invalid_field")
    assert container().directory.get_user(me["id"])["state"] == "ACTIVE"
    other = _user("olaf")
    assert container().user_admin.set_state(other["id"], "SUSPENDED", by)["state"] == "SUSPENDED"
    (event,) = container().audit.query(AuditQuery(type="admin.user.updated", user_id=other["id"]))[0]
    assert (event["actor"], event["ip"], event["user_agent"]) == ({"type": "admin", "id": me["id"]}, by.ip, by.user_agent)


def test_links_and_the_mfa_reset_are_recorded_as_the_acting_administrator(aws_env, api):
    pia = _user("pia", password=PASSWORD)
    sent = container().user_admin.send_link(pia["id"], "https://idp.example.com", CONSOLE, activation=False)
    assert sent.uid == pia["id"] and sent.purpose == "reset"
    status, body = api("POST", f"/admin/users/{pia['id']}/activation")
    assert status == 202 and body["id"] == pia["id"]
    links = container().audit.query(AuditQuery(type="password", user_id=pia["id"]))[0]
    by_reason = {e["reason"]: (e["actor"], e.get("ip")) for e in links}
    assert by_reason["reset_requested"] == ({"type": "admin", "id": CONSOLE.actor.id}, CONSOLE.ip), links
    assert by_reason["activation_sent"][0] == API_ADMIN.to_dict(), links

    container().mfa_admin.reset(pia["id"], CONSOLE)
    (reset,) = container().audit.query(AuditQuery(type="admin.user.mfa_reset", user_id=pia["id"]))[0]
    assert (reset["actor"], reset["ip"]) == ({"type": "admin", "id": CONSOLE.actor.id}, CONSOLE.ip)
    with pytest.raises(DomainError) as missing:
        container().mfa_admin.reset("no-such-user", CONSOLE)
    assert missing.value.status == 404


def test_create_with_an_activation_link_and_a_suspended_user_refused_first(aws_env, api):
    made = container().user_admin.create({"username": "rhea", "email": "rhea@example.com", "firstname": "Rhea",
                                          "lastname": "Quill"}, CONSOLE, activation_base_url="https://idp.example.com")
    (created,) = container().audit.query(AuditQuery(type="admin.user.created", user_id=made["id"]))[0]
    (sent,) = container().audit.query(AuditQuery(type="password", user_id=made["id"]))[0]
    assert created["actor"] == sent["actor"] == {"type": "admin", "id": CONSOLE.actor.id} and sent["reason"] == "activation_sent"

    body = {"username": "sam", "email": "sam@example.com", "firstname": "Sam", "lastname": "Quill", "state": "SUSPENDED"}
    with pytest.raises(DomainError) as refused:
        container().user_admin.create(body, CONSOLE, activation_base_url="https://idp.example.com")
    assert refused.value.status == 400 and "send_activation" in refused.value.message
    status, answer = api("POST", "/admin/users", {**body, "send_activation": True})
    assert status == 400 and "send_activation" in json.dumps(answer)
    assert container().user_admin.search("sam", 0, 10).items == ()  # refused before anything was stored
    assert container().user_admin.create(body, CONSOLE)["state"] == "SUSPENDED"  # no link asked: created
