"""The console's user forms and a quarantined username or email (issue 23 item 13): the 409 shows beside the
field with the date the quarantine ends, the form then offers the box that confirms the reuse, and a
confirmed reuse goes through (audited as the signed-in administrator)."""
from __future__ import annotations

from idp.bootstrap import container

USER = {"username": "dana", "email": "dana@example.com", "firstname": "Dana", "lastname": "Doe"}


def test_a_quarantined_email_shows_on_the_form_and_its_reuse_is_confirmed_there(admin_browser, people):
    directory = container().directory
    directory.delete_user(directory.create_user({**USER, "username": "dana-old"})["id"])
    csrf = admin_browser.get("/console/users/new").hidden("csrf")
    assert 'name="confirm_reuse"' not in admin_browser.get("/console/users/new").body
    page = admin_browser.post("/console/users/new", {**USER, "csrf": csrf})
    assert page.status == 409 and "quarantined until" in page.error_next_to("email")
    assert 'name="confirm_reuse"' in page.body and 'value="dana"' in page.body
    done = admin_browser.post("/console/users/new", {**USER, "confirm_reuse": "on", "csrf": csrf})
    assert done.status == 303, done.text[:1000]
    uid = done.location.split("/")[-1].split("?")[0]
    assert container().store.get_user(uid)["email"] == "dana@example.com"
    # the user page: taking the plain user's released username
    plain = people["plain"]["id"]
    page = admin_browser.post(f"/console/users/{uid}", {**USER, "username": "dana-old", "csrf": csrf})
    assert page.status == 409 and "quarantined until" in page.error_next_to("username")
    assert 'name="confirm_reuse"' in page.body
    assert admin_browser.post(f"/console/users/{uid}", {**USER, "username": "dana-old", "confirm_reuse": "on",
                                                        "csrf": csrf}).status == 303
    from idp.kernel.audit_log import AuditQuery

    events, _ = container().audit.query(AuditQuery(type="admin.user.released_name_reused"), 10, None)
    assert sorted(e["changes"][0] for e in events) == ["email", "username"]
    assert {e["actor"]["id"] for e in events} == {people["admin"]["id"]} and plain != uid
