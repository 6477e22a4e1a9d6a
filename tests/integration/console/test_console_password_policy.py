"""The password policy on the console (contract section 9, issue 26 item 4): the Settings page's "Password
policy" section reads and sets what GET|PUT /admin/password-policy do (audited as the administrator), a
refusal shows beside its field; the user forms show a weak password's refusal, naming the rule, beside the
Password field, and set nothing."""
from __future__ import annotations

import html

from idp.bootstrap import container
from idp.kernel.audit_log import AuditQuery

USER = {"username": "quinn", "email": "quinn.harper@example.com", "firstname": "Quinn", "lastname": "Harper"}
STRONG = "Violet-Harbor-Lantern-42"
POLICY_FORM = "/console/settings/password-policy"


def _section(page) -> str:
    start = page.body.index('<h2 id="password-h">Password policy</h2>')
    return page.body[start:page.body.index("</section>", start)]


def test_the_settings_page_shows_and_saves_the_password_policy(admin_browser, people):
    assert ("at least 12 characters, not a common password, not containing the user's name; leave empty"
            in admin_browser.get("/console/users/new").text)
    page = admin_browser.get("/console/settings")
    assert page.status == 200
    section = _section(page)
    for label in ("Minimum length", "Block common passwords", "Block passwords containing the user&#39;s name"):
        assert f">{label}</label>" in section, label
    assert 'name="min_length" value="12"' in section
    assert 'id="block_common" name="block_common" checked' in section
    assert 'id="block_user_info" name="block_user_info" checked' in section
    assert ">Save</button>" in section

    csrf = page.hidden("csrf", POLICY_FORM)
    for bad, words in (("7", "greater than or equal to 8"), ("129", "less than or equal to 128"), ("twelve", "whole number")):
        refused = admin_browser.post(POLICY_FORM, {"csrf": csrf, "min_length": bad, "block_common": "on"})
        assert refused.status == 400 and words in refused.error_next_to("min_length"), bad
        assert f'name="min_length" value="{bad}"' in refused.body  # what was typed stays
    assert container().directory.password_policy().view() == {"min_length": 12, "block_common": True,
                                                               "block_user_info": True}

    saved = admin_browser.post(POLICY_FORM, {"csrf": csrf, "min_length": "16", "block_common": "on"})
    assert saved.status == 303 and saved.location == "/console/settings?done=password_policy"
    assert container().directory.password_policy().view() == {"min_length": 16, "block_common": True,
                                                               "block_user_info": False}
    after = admin_browser.get(saved.location)
    assert "Password policy saved." in after.text and 'name="min_length" value="16"' in _section(after)
    assert 'name="block_user_info" checked' not in _section(after)

    # the user forms' Password hint says the policy now in force
    assert "at least 16 characters, not a common password; leave empty" in admin_browser.get("/console/users/new").text

    (event,), _ = container().audit.query(AuditQuery(type="admin.password_policy.updated"))
    assert event["actor"] == {"type": "admin", "id": people["admin"]["id"]}
    assert event["changes"] == ["block_user_info", "min_length"]
    assert event["detail"] == {"before": {"block_user_info": True, "min_length": 12},
                               "after": {"block_user_info": False, "min_length": 16}}


def test_a_weak_password_on_the_user_forms_is_refused_beside_the_password_field(admin_browser, people):
    csrf = admin_browser.get("/console/users/new").hidden("csrf")
    for weak, rule in (("Harbor-42", "min_length"), ("password1234", "block_common"),
                       ("Quinn-Violet-Harbor-42", "block_user_info")):
        page = admin_browser.post("/console/users/new", {**USER, "password": weak, "csrf": csrf})
        assert page.status == 400, (weak, page.text[:500])
        assert f"(password policy: {rule})" in page.error_next_to("password"), weak
        assert 'value="quinn"' in page.body  # the rest of the form stays as typed
    assert container().store.find_user_id("username", "quinn") is None

    done = admin_browser.post("/console/users/new", {**USER, "password": STRONG, "csrf": csrf})
    assert done.status == 303
    uid = done.location.split("/")[-1].split("?")[0]
    hash_before = container().store.get_user_item(uid)["password_hash"]
    page = admin_browser.post(f"/console/users/{uid}", {**USER, "password": "harper-Violet-2024", "csrf": csrf})
    assert page.status == 400 and "must not contain the user's last name" in html.unescape(page.error_next_to("password"))
    assert container().store.get_user_item(uid)["password_hash"] == hash_before  # nothing was set
    assert admin_browser.post(f"/console/users/{uid}", {**USER, "password": "Amber-Orchard-Kettle-7",
                                                         "csrf": csrf}).status == 303
    assert container().store.get_user_item(uid)["password_hash"] != hash_before
