"""The Identity Management tab's "Provision this user now": the page shows what the push did (worked or
failed, the outcome, its detail, the SP's HTTP status on an error) and the user's last provisioning log
entries, against scim2-server on loopback: once when the SP takes the user, once when it refuses it."""
from __future__ import annotations

import re

import pytest

from idp.bootstrap import container
from idp_testing.scim_server import ScimServer

TOKEN = "console-provision-now-token-42"
USER = {"username": "dana", "email": "dana@example.com", "firstname": "Dana", "lastname": "Doe"}
NOW = "/console/apps/officespace/provisioning/user"


@pytest.fixture
def scim():
    server = ScimServer(token=TOKEN)
    yield server
    server.close()


@pytest.fixture
def bound_app(admin_browser, scim):
    """OfficeSpace with provisioning active against `scim` (no group management) and dana bound to it."""
    csrf = admin_browser.get("/console/apps/new").hidden("csrf")
    done = admin_browser.post("/console/apps/new/officespace", {
        "label": "OfficeSpace", "sp_entity_id": "acme.officespacesoftware.com",
        "acs_urls": "https://acme.officespacesoftware.com/users/sign_in/saml", "csrf": csrf})
    assert done.status == 303, done.body
    done = admin_browser.post("/console/apps/officespace/identity-management",
                              {"base_url": scim.base_url, "token": TOKEN, "csrf": csrf, "op": "activate"})
    assert done.status == 303, done.body
    uid = container().directory.create_user(USER)["id"]
    done = admin_browser.post("/console/apps/officespace/users", {"csrf": csrf, "shown": uid, f"bind_{uid}": "on"})
    assert done.status == 303, done.body
    return csrf, uid


def _panel(page) -> str:
    """The "Provision this user now" result panel of the page (it comes before the Status section)."""
    start = page.body.find('data-testid="provision-result"')
    assert start >= 0, "no provisioning result on the page: " + " ".join(page.text.split())[:2000]
    return page.body[start:page.body.index('<section aria-labelledby="status-h">', start)]


def _log_rows(panel: str) -> list[tuple[str, str]]:
    return re.findall(r'data-testid="log-row" data-action="([^"]*)" data-outcome="([^"]*)"', panel)


def test_provisioning_a_user_now_shows_the_outcome_and_the_log(admin_browser, bound_app, scim):
    csrf, uid = bound_app
    page = admin_browser.post(NOW, {"csrf": csrf, "user": "dana"})
    assert page.status == 200, page.body
    panel = _panel(page)
    assert 'data-ok="true"' in panel and 'data-outcome="created"' in panel
    assert "dana: Provisioned" in panel and "Connection works" not in page.text  # not the connection test's panel
    assert '<span class="badge badge-created">created</span>' in panel
    assert ("create", "success") in _log_rows(panel)  # the user's log, newest first, on the page
    assert f'href="/console/apps/officespace/log?user_id={uid}"' in panel
    assert scim.user_by_name("dana@example.com")["externalId"] == uid  # and the SP has the user
    # Again: the SP is read, nothing needs changing, and the page says so.
    panel = _panel(admin_browser.post(NOW, {"csrf": csrf, "user": "dana@example.com"}))
    assert 'data-ok="true"' in panel and 'data-outcome="no_change"' in panel


def test_a_refusing_sp_shows_the_failure_its_status_and_the_log(admin_browser, bound_app, scim):
    csrf, _ = bound_app

    def refuse(method, path, query, body):
        if method == "POST" and path.endswith("/Users"):
            return "400 Bad Request", {"Content-Type": "application/scim+json"}, {
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"], "status": "400",
                "scimType": "invalidValue", "detail": "department 'Nowhere' does not exist"}
        return None

    scim.override = refuse
    page = admin_browser.post(NOW, {"csrf": csrf, "user": "dana"})
    assert page.status == 200, page.body
    panel = _panel(page)
    assert 'data-ok="false"' in panel and 'data-outcome="failed"' in panel
    assert "dana: Provisioning failed" in panel
    assert "department &#39;Nowhere&#39; does not exist" in panel or "department 'Nowhere' does not exist" in panel
    assert 'data-testid="provision-sp-status">HTTP 400<' in panel
    assert any(outcome == "failed" for _, outcome in _log_rows(panel)), panel  # what the push recorded
    assert scim.user_by_name("dana@example.com") is None
