"""Who gets the console (contract section 6): no session → the login page and back; a non-admin → 403;
a POST without the session's CSRF token → 403; a GET changes nothing; strict headers on every page."""
from __future__ import annotations

import pytest

from idp.bootstrap import container
from idp_testing.console_client import ADMIN, Browser


def test_without_a_session_the_console_sends_to_the_login_and_back(app, people):
    browser = Browser(app)
    answer = browser.get("/console/users?q=ro")
    assert answer.status == 302 and answer.location.startswith("/login?state=")
    login = browser.get(answer.location)
    assert login.status == 200 and "Sign in" in login.text
    done = browser.post("/login", {"login": login.hidden("login"), "csrf": login.hidden("csrf"),
                                   "username": ADMIN["username"], "password": ADMIN["password"]})
    assert done.status == 302 and done.location == "/console/users?q=ro"
    enrol = browser.get(done.location)  # an administrator's first console visit: a second factor first
    assert enrol.status == 302 and enrol.location.startswith("/account/setup?resume=")
    back = browser.enrol_totp(enrol.location)
    assert back.status == 302 and back.location == "/console/users?q=ro"
    page = browser.get(back.location)
    assert page.status == 200 and "root@example.com" in page.text


def test_a_login_never_returns_outside_the_console():
    from idp.signon.models import PendingSignOn, console_path

    for hostile in ("https://evil.example/console", "//evil.example/console", "/console/../login", "/consolex",
                    "/console/\\evil", "/console//evil.example", "/console/\x00"):
        assert PendingSignOn.console(hostile).resume_path == "/console", hostile
        assert console_path(hostile) == "/console"
    assert PendingSignOn().resume_path == "/" and PendingSignOn.console("/console/apps").resume_path == "/console/apps"
    item = PendingSignOn.console("/console/apps?cursor=x").to_item()
    assert PendingSignOn.from_item(item).resume_path == "/console/apps?cursor=x"


def test_a_signed_in_non_admin_gets_a_403_page(plain_browser):
    for path in ("/console", "/console/users", "/console/apps/new"):
        page = plain_browser.get(path)
        assert page.status == 403, path
        assert "Administrators only" in page.text and "not_admin" in page.text
    page = plain_browser.post("/console/users/new", {"username": "x", "csrf": "whatever"})
    assert page.status == 403
    assert container().store.find_user_id("username", "x") is None


def test_a_post_without_the_sessions_csrf_token_is_refused(admin_browser, people):
    form = {"username": "mallory", "email": "mallory@example.com", "firstname": "M", "lastname": "Allory"}
    for csrf in (None, "", "not-the-token"):
        body = dict(form, **({"csrf": csrf} if csrf is not None else {}))
        page = admin_browser.post("/console/users/new", body)
        assert page.status == 403 and "csrf_failed" in page.text
    assert container().store.find_user_id("username", "mallory") is None
    uid = people["plain"]["id"]
    assert admin_browser.post(f"/console/users/{uid}/suspend", {}).status == 403
    assert container().store.get_user(uid)["state"] == "ACTIVE"
    # With the token of the form, the same POST works.
    page = admin_browser.get("/console/users/new")
    created = admin_browser.post("/console/users/new", {**form, "csrf": page.hidden("csrf")})
    assert created.status == 303 and container().store.find_user_id("username", "mallory")


def test_the_csrf_token_is_bound_to_the_session(app, admin_browser, people):
    token = admin_browser.get("/console").hidden("csrf")
    other = Browser(app)
    other.login(ADMIN["username"], ADMIN["password"], code=admin_browser.recovery_codes[0])
    assert other.get("/console").hidden("csrf") != token
    uid = people["plain"]["id"]
    assert other.post(f"/console/users/{uid}/suspend", {"csrf": token}).status == 403
    assert container().store.get_user(uid)["state"] == "ACTIVE"


def _snapshot():
    table = container().table
    items = table.scan()["Items"]
    return sorted(repr(sorted(i.items())) for i in items if not str(i["pk"]).startswith(("SESSION#", "LOGIN#")))


@pytest.mark.parametrize("action", ["suspend", "activate", "revoke-sessions", "delete"])
def test_a_get_changes_nothing(admin_browser, people, action):
    uid = people["plain"]["id"]
    before = _snapshot()
    page = admin_browser.get(f"/console/users/{uid}/{action}")
    assert page.status in (200, 404, 405)
    assert _snapshot() == before


def test_every_page_carries_the_strict_headers(admin_browser, plain_browser):
    for browser, path in ((admin_browser, "/console"), (admin_browser, "/console/apps/new"), (plain_browser, "/console")):
        page = browser.get(path)
        csp = page.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "script-src" not in csp and "'unsafe-inline'" not in csp
        assert "default-src 'none'" in csp and "style-src 'self'" in csp
        assert page.headers["x-frame-options"] == "DENY" and page.headers["cache-control"] == "no-store"
        assert "<script" not in page.body and "style=" not in page.body
    css = admin_browser.get("/console/assets/console.css")
    assert css.status == 200 and css.headers["content-type"].startswith("text/css") and ".badge" in css.body


def test_every_form_control_has_a_label(admin_browser, people):
    import re

    container().apps.create({"slug": "os", "label": "OfficeSpace", "sp_entity_id": "acme.officespacesoftware.com",
                             "acs_urls": ["https://acme.officespacesoftware.com/users/sign_in/saml"]})
    gid = container().directory.create_group({"name": "Ops"})["id"]
    uid = people["plain"]["id"]
    for path in ("/console", "/console/users", "/console/users?q=pat", "/console/users/new", f"/console/users/{uid}",
                 f"/console/users/{uid}?diagnose=os", f"/console/users/{uid}/delete", "/console/groups", "/console/groups/new",
                 f"/console/groups/{gid}", "/console/apps", "/console/apps/new", "/console/apps/new/officespace",
                 "/console/apps/new/custom", "/console/apps/os", "/console/apps/os/sso", "/console/apps/os/identity-management",
                 "/console/apps/os/groups", "/console/apps/os/users", "/console/apps/os/log", "/console/apps/os/delete",
                 "/console/settings", "/console/events"):
        page = admin_browser.get(path)
        assert page.status == 200, path
        body = page.body
        ids = re.findall(r'<(?:input|select|textarea)(?![^>]*type="hidden")[^>]*\bid="([^"]+)"', body)
        controls = re.findall(r'<(?:input|select|textarea)(?![^>]*type="hidden")[^>]*>', body)
        assert len(ids) == len(controls), path
        for control_id in ids:
            assert f'<label for="{control_id}">' in body, (path, control_id)


def test_the_dashboard_shows_recent_sign_in_failures(app, admin_browser, people):
    from idp_testing.console_client import Browser as Fresh

    Fresh(app).login("pat", "not-pats-password")
    page = admin_browser.get("/console")
    assert page.status == 200 and "Sign-in failures, last 24 hours" in page.text
    assert 'data-testid="failure-row"' in page.body and ">pat</a>" in page.body


def test_the_dashboard_shows_each_apps_last_sign_in(admin_browser):
    from idp.kernel.audit import AuditEvent

    container().apps.create({"slug": "officespace", "label": "OfficeSpace", "sp_entity_id": "acme.officespacesoftware.com",
                             "acs_urls": ["https://acme.officespacesoftware.com/users/sign_in/saml"]})
    assert "none yet" in admin_browser.get("/console").text
    container().audit.record(AuditEvent("sso", outcome="failure", app="officespace", reason="not_bound"))
    page = admin_browser.get("/console")
    assert "badge-failure" in page.body and "not_bound" in page.text


def test_an_unknown_console_page_is_the_consoles_404(admin_browser):
    for path in ("/console/nope", "/console/users/u-1/nope", "/console/apps/x/keys/k/activate/extra"):
        page = admin_browser.get(path)
        assert page.status == 404 and "Page not found" in page.text and page.headers["x-frame-options"] == "DENY", path
    assert admin_browser.get("/console/users").status == 200  # the screens still win


def test_the_events_page_shows_the_audit_log_filtered(app, admin_browser, people):
    from idp_testing.console_client import Browser as Fresh

    Fresh(app).login("pat", "not-pats-password")
    page = admin_browser.get("/console/events?type=login&outcome=failure")
    assert page.status == 200 and 'data-type="login"' in page.body and ">pat</a>" in page.body
    page = admin_browser.get("/console/events?user=root&type=login")
    assert 'data-testid="event-row"' in page.body and ">pat</a>" not in page.body
    page = admin_browser.get("/console/events?user=nobody")
    assert page.status == 400 and "nobody" in page.text
    assert admin_browser.get("/console/events?outcome=maybe").status == 400
