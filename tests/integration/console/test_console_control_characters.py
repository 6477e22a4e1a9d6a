"""The console's forms refuse control characters in directory text as the admin API does (issue 23 item 11):
a 400 with the error beside the field it names, and nothing stored."""
from __future__ import annotations

from idp.bootstrap import container

USER = {"username": "dana", "email": "dana@example.com", "firstname": "Dana", "lastname": "Doe"}


def test_user_group_and_app_forms_refuse_control_characters(admin_browser, people):
    csrf = admin_browser.get("/console/users/new").hidden("csrf")
    page = admin_browser.post("/console/users/new", {**USER, "firstname": "Da\x85na", "csrf": csrf})
    assert page.status == 400 and "U+0085" in page.error_next_to("firstname")
    assert container().store.find_user_id("username", "dana") is None
    uid = people["plain"]["id"]
    page = admin_browser.post(f"/console/users/{uid}", {"username": "pat", "email": "pat@example.com", "firstname": "Pat",
                                                        "lastname": "Pl\x01ain", "csrf": csrf})
    assert page.status == 400 and "U+0001" in page.error_next_to("lastname")
    assert container().store.get_user(uid)["lastname"] == "Plain"
    page = admin_browser.post("/console/groups/new", {"name": "Fa\x7fcilities", "csrf": csrf})
    assert page.status == 400 and "U+007F" in page.error_next_to("name")
    page = admin_browser.post("/console/apps/new/officespace", {
        "label": "Office\x9fSpace", "sp_entity_id": "acme.officespacesoftware.com",
        "acs_urls": "https://acme.officespacesoftware.com/users/sign_in/saml", "csrf": csrf})
    assert page.status == 400 and "U+009F" in page.error_next_to("label")
    assert container().store.get_app("officespace") is None
