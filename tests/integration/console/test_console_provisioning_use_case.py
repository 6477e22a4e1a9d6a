"""The console and the admin API answer from one use case (issue 24: `idp.app.provisioning_admin`, handed out by
the container built from Settings as a Lambda builds it): for one app state the dashboard's row, the Identity
Management tab's Status and GET /admin/apps/{slug}/provisioning/status show the same state and counts, each read
through `ProvisioningAdmin.status`; and the use case answers typed values whose `as_json()` is the API's body."""
from __future__ import annotations

import json
import re

import pytest

from idp.app.provisioning_results import LogPage, ProvisioningStatus, ProvisionResult, SyncQueued
from idp.bootstrap import container
from idp.kernel.errors import DomainError
from idp_testing.lambda_events import LambdaContext, http_event
from idp_testing.scim_server import ScimServer

TOKEN = "console-use-case-token-77"
SLUG = "officespace"
USERS = [{"username": "dana", "email": "dana@example.com", "firstname": "Dana", "lastname": "Doe"},
         {"username": "eve", "email": "eve@example.com", "firstname": "Eve", "lastname": "Evans"}]


@pytest.fixture
def api(app):
    """GET/POST on the admin API's routes (its own resolver over the process's container, as the admin function)."""
    from idp.web.admin_api import admin_routers
    from idp.web.resolver import lambda_app

    admin_api = lambda_app(*admin_routers())

    def call(method: str, path: str, body: dict | None = None, query: dict | None = None) -> tuple[int, dict]:
        answer = admin_api.resolve(http_event(method, path, body, query=query), LambdaContext())
        return answer["statusCode"], json.loads(answer["body"]) if answer.get("body") else {}

    return call


@pytest.fixture
def two_bound(admin_browser):
    """OfficeSpace with provisioning active against scim2-server on loopback, dana and eve bound to it; nothing
    pushed yet (no consumer runs here: the change events wait in the queue). Yields the form's CSRF token, the two
    user ids and the SCIM server's base URL."""
    scim = ScimServer(token=TOKEN)
    try:
        yield _bind_two(admin_browser, scim.base_url)
    finally:
        scim.close()


def _bind_two(admin_browser, base_url: str) -> tuple[str, list[str], str]:
    csrf = admin_browser.get("/console/apps/new").hidden("csrf")
    done = admin_browser.post(f"/console/apps/new/{SLUG}", {
        "label": "OfficeSpace", "sp_entity_id": "acme.officespacesoftware.com",
        "acs_urls": "https://acme.officespacesoftware.com/users/sign_in/saml", "csrf": csrf})
    assert done.status == 303, done.body
    done = admin_browser.post(f"/console/apps/{SLUG}/identity-management",
                              {"base_url": base_url, "token": TOKEN, "csrf": csrf, "op": "activate"})
    assert done.status == 303, done.body
    uids = [container().directory.create_user(user)["id"] for user in USERS]
    form = {"csrf": csrf, "shown": ",".join(uids), **{f"bind_{uid}": "on" for uid in uids}}
    done = admin_browser.post(f"/console/apps/{SLUG}/users", form)
    assert done.status == 303, done.body
    return csrf, uids, base_url


def _im_status(body: str) -> tuple[str, int, int, int]:
    state = re.search(r'data-testid="provisioning-state"><span class="badge badge-[^"]*">([^<]*)</span>', body)
    counts = re.search(r"<dt>In sync</dt><dd>(\d+)</dd><dt>Pending</dt><dd>(\d+)</dd><dt>Failed</dt><dd>(\d+)</dd>", body)
    assert state and counts, body
    return state.group(1).replace(" ", "_"), *map(int, counts.groups())


def _dashboard_status(body: str) -> tuple[str, int, int, int]:
    row = body[body.index(f'data-testid="app-row" data-slug="{SLUG}"'):]
    row = row[:row.index("</tr>")]
    found = re.search(r'<td><span class="badge badge-[^"]*">([^<]*)</span>(?:<br>[^<]*<span[^>]*>[^<]*</span>)?</td>\s*'
                      r"<td>(\d+)</td><td>(\d+)</td><td>(\d+)</td>", row)
    assert found, row
    return found.group(1).replace(" ", "_"), *map(int, found.groups()[1:])


def test_the_dashboard_the_im_tab_and_the_api_show_one_status_from_one_use_case(admin_browser, two_bound, api,
                                                                                monkeypatch):
    csrf, (dana, eve), _ = two_bound
    pushed = admin_browser.post(f"/console/apps/{SLUG}/provisioning/user", {"csrf": csrf, "user": "dana"})
    assert 'data-outcome="created"' in pushed.body, pushed.text  # dana in the SP; eve still waits in the queue
    uses = container().provisioning_admin
    asked: list[str] = []
    real = uses.status

    def status(slug: str) -> ProvisioningStatus:
        asked.append(slug)
        return real(slug)

    monkeypatch.setattr(uses, "status", status)
    code, answer = api("GET", f"/admin/apps/{SLUG}/provisioning/status")
    assert code == 200, answer
    im = admin_browser.get(f"/console/apps/{SLUG}/identity-management")
    dashboard = admin_browser.get("/console")
    assert im.status == 200 and dashboard.status == 200
    assert asked == [SLUG, SLUG, SLUG]  # the API, the tab and the dashboard: one use case each time

    from_api = (answer["state"], answer["in_sync"], answer["pending"], answer["failed"])
    assert from_api == ("ok", 1, 1, 0), answer  # dana pushed; eve bound, not pushed yet: pending, never in_sync
    assert _im_status(im.body) == from_api
    assert _dashboard_status(dashboard.body) == from_api
    assert answer["users"] == {"in_sync": 1, "pending": 1, "failed": 0}
    assert [d["id"] for d in answer["drift"]] == [eve]


def test_the_use_case_answers_typed_values_the_api_renders(admin_browser, two_bound, api):
    csrf, (dana, eve), base_url = two_bound
    uses = container().provisioning_admin

    result = uses.provision_user(SLUG, dana)
    assert isinstance(result, ProvisionResult) and result.ok and result.outcome == "created" and result.pushed
    assert result.user_id == dana and result.requests and result.log and result.log[0]["action"] == "create"
    code, again = api("POST", f"/admin/apps/{SLUG}/provisioning/users/{dana}/sync")
    assert code == 200 and again["outcome"] == "no_change" and set(again) == set(result.as_json())

    status = uses.status(SLUG)
    assert isinstance(status, ProvisioningStatus) and (status.in_sync, status.pending) == (1, 1)
    assert api("GET", f"/admin/apps/{SLUG}/provisioning/status")[1] == status.as_json()

    assert uses.provision_user(SLUG, eve).outcome == "created"  # a second entry in the app's log
    first = uses.log_page(SLUG, limit=1)
    assert isinstance(first, LogPage) and len(first.items) == 1 and first.next_cursor
    second = uses.log_page(SLUG, limit=1, cursor=first.next_cursor)
    assert second.items and second.items[0] != first.items[0]
    code, page = api("GET", f"/admin/apps/{SLUG}/provisioning/log", query={"limit": "1"})
    assert code == 200 and page == first.as_json()
    with pytest.raises(DomainError) as bad:
        uses.log_page(SLUG, cursor="not-a-cursor")
    assert (bad.value.status, bad.value.code) == (400, "invalid_cursor")

    assert uses.sync(SLUG, queued=True) == SyncQueued()
    with pytest.raises(DomainError) as both:
        uses.sync(SLUG, queued=True, confirm=True)
    assert (both.value.status, both.value.code) == (400, "invalid_field")

    off = admin_browser.post(f"/console/apps/{SLUG}/identity-management",
                             {"base_url": base_url, "csrf": csrf, "op": "deactivate"})
    assert off.status == 303, off.body
    assert uses.status(SLUG).state == "disabled"
    with pytest.raises(DomainError) as disabled:
        uses.provision_user(SLUG, dana)
    assert (disabled.value.status, disabled.value.code) == (409, "disabled")
    shown = admin_browser.post(f"/console/apps/{SLUG}/provisioning/user", {"csrf": csrf, "user": "dana"})
    assert shown.status == 409 and "disabled" in shown.text
