"""The console refuses to change what an identity source maps on its users (409 owned_by_source, naming the
source), and lets through what stays the administrators' (roles, sessions)."""
from __future__ import annotations

from idp.bootstrap import container
from idp.kernel.audit import Actor


def test_the_console_refuses_a_sources_fields_and_keeps_the_admins_own(admin_browser, people):
    source, _ = container().store.create_source({"name": "Workday", "match": "none", "on_delete": "suspend"},
                                                lambda sid: ("t", "h"))
    as_source = container().directory.acting_as(Actor("source", source["id"]))
    uid = as_source.create_user({"username": "omar", "email": "omar@example.com", "firstname": "Omar", "lastname": "Ray"},
                                owner={"source_id": source["id"]})["id"]
    csrf = admin_browser.get(f"/console/users/{uid}").hidden("csrf")
    form = {"username": "omar", "email": "omar@example.com", "firstname": "Omar", "lastname": "Ray", "csrf": csrf}
    page = admin_browser.post(f"/console/users/{uid}", {**form, "firstname": "Omari"})
    assert page.status == 409 and "Workday" in page.text and "firstname" in page.text
    assert admin_browser.post(f"/console/users/{uid}/suspend", {"csrf": csrf}).status == 409
    assert container().store.get_user(uid)["state"] == "ACTIVE" and container().store.get_user(uid)["firstname"] == "Omar"
    assert admin_browser.post(f"/console/users/{uid}", {**form, "admin_role": "on"}).status == 303
    assert container().store.get_user(uid)["roles"] == ["admin"]
    assert admin_browser.post(f"/console/users/{uid}/revoke-sessions", {"csrf": csrf}).status == 303
