"""An identity source on the local stack, over real HTTP (contract section 10): a source creates a user and puts them
in a group bound to the OfficeSpace stand-in's app; the user reaches the stand-in within 2 s; the source deactivates
them and the stand-in shows active:false within 2 s. And scim2-tester's conformance checks against /scim/v2."""
from __future__ import annotations

import time

import pytest
import requests

from idp_testing.scim_conformance import check
from idp_testing.stack import start_stack, stop_stack

SCIM_USER = "urn:ietf:params:scim:schemas:core:2.0:User"
SCIM_GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    running = start_stack(tmp_path_factory.mktemp("sources-stack"), standin=True)
    yield running
    stop_stack(running)


def _source(stack, name: str) -> tuple[requests.Session, str]:
    created = stack.admin().post(f"{stack.base_url}/admin/sources", json={"name": name}, timeout=10)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["scim_base_url"] == f"{stack.base_url}/scim/v2"
    client = requests.Session()
    client.headers.update({"Authorization": f"Bearer {body['token']}", "Content-Type": "application/scim+json"})
    return client, body["scim_base_url"]


def _until(what, seconds: float):
    deadline = time.monotonic() + seconds
    while True:
        found = what()
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def test_a_sources_user_reaches_the_standin_and_its_deactivation_too(stack):
    s, base = stack.admin(), stack.base_url
    assert s.post(f"{base}/admin/apps", json={"slug": "officespace", "label": "OfficeSpace", "sp_entity_id": "os.example",
                                              "acs_urls": ["https://os.example/acs"]}, timeout=30).status_code == 201
    assert s.put(f"{base}/admin/apps/officespace/provisioning", json={"base_url": stack.scim_base_url, "token": stack.scim_token,
                                                                      "enabled": True, "group_management": True},
                 timeout=10).status_code == 200
    hr, scim = _source(stack, "Workday")
    group = hr.post(f"{scim}/Groups", json={"schemas": [SCIM_GROUP], "displayName": "Facilities"}, timeout=10)
    assert group.status_code == 201, group.text
    assert s.put(f"{base}/admin/apps/officespace/groups/{group.json()['id']}", timeout=10).status_code == 204
    sp = requests.Session()
    sp.headers["Authorization"] = f"Bearer {stack.scim_token}"

    def at_standin() -> dict | None:
        found = sp.get(f"{stack.scim_base_url}/Users", params={"filter": 'userName eq "mira@example.com"'}, timeout=5).json()
        return found["Resources"][0] if found.get("totalResults") else None

    started = time.monotonic()
    user = hr.post(f"{scim}/Users", json={"schemas": [SCIM_USER], "userName": "mira", "active": True,
                                          "name": {"givenName": "Mira", "familyName": "Sol"},
                                          "emails": [{"value": "mira@example.com", "type": "work", "primary": True}]}, timeout=10)
    assert user.status_code == 201, user.text
    added = hr.patch(f"{scim}/Groups/{group.json()['id']}", json={"schemas": [PATCH_OP], "Operations": [
        {"op": "add", "path": "members", "value": [{"value": user.json()["id"]}]}]}, timeout=10)
    assert added.status_code == 200, added.text
    arrived = _until(at_standin, 2.0)
    arrival = time.monotonic() - started
    assert arrived and arrived["active"] is True, f"not at the stand-in after {arrival:.2f} s"

    started = time.monotonic()
    off = hr.patch(f"{scim}/Users/{user.json()['id']}", json={"schemas": [PATCH_OP], "Operations": [
        {"op": "Replace", "path": "active", "value": "False"}]}, timeout=10)
    assert off.status_code == 200 and off.json()["active"] is False
    deactivated = _until(lambda: (found := at_standin()) and found.get("active") is False, 2.0)
    took = time.monotonic() - started
    assert deactivated, f"still active at the stand-in after {took:.2f} s"
    print(f"source's user at the stand-in {arrival:.2f} s after the POST; deactivated {took:.2f} s after the PATCH")


def test_scim2_tester_conformance(stack):
    client, scim = _source(stack, "scim2-tester")
    results, by_tag = check(scim, client.headers["Authorization"].removeprefix("Bearer "))
    counts = {tag: dict(sorted(c.items())) for tag, c in sorted(by_tag.items())}
    totals = {status: sum(1 for r in results if r.status.name == status) for status in sorted({r.status.name for r in results})}
    print(f"scim2-tester: {len(results)} checks, {totals}; by tag (a check has several tags): {counts}")
    failed = [f"{r.status.name} {r.title} {r.resource_type}: {(r.reason or '')[:200]}" for r in results
              if r.status.name in ("ERROR", "CRITICAL")]
    assert not failed, "\n".join(failed)
    assert sum(c.get("SUCCESS", 0) for c in by_tag.values()) > 100


def test_sources_in_the_console(stack, browser):
    # Given an administrator of the console, When they add a source on "Sources", Then its token and SCIM base URL
    # are shown once, the token works against /scim/v2, and Delete stops it
    import pyotp
    from playwright.sync_api import expect

    s, base = stack.admin(), stack.base_url
    assert s.post(f"{base}/admin/users", json={"username": "ops-admin", "email": "ops-admin@example.com", "firstname": "Ops",
                                               "lastname": "Admin", "password": "Violet-Harbor-Lantern-42", "roles": ["admin"]},
                  timeout=10).status_code == 201
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.goto(f"{base}/console")
    page.get_by_label("Username or email").fill("ops-admin")
    page.get_by_label("Password").fill("Violet-Harbor-Lantern-42")
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.get_by_role("button", name="Set up authenticator app").click()  # an administrator always has a second factor
    secret = page.get_by_test_id("setup-key").inner_text().strip()
    page.get_by_label("Code from the app").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Confirm").click()
    page.get_by_role("button", name="Continue").click()

    page.get_by_role("navigation", name="Console").get_by_role("link", name="Sources", exact=True).click()
    page.get_by_label("Name").fill("BambooHR")
    page.get_by_label("Match existing users").select_option("email")
    page.get_by_role("button", name="Create source").click()
    token = page.get_by_label("Token").input_value()
    assert page.get_by_label("SCIM base URL").input_value() == f"{base}/scim/v2"
    row = page.get_by_test_id("source-row").filter(has_text="BambooHR")
    expect(row).to_contain_text("email")
    answer = requests.get(f"{base}/scim/v2/Users", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert answer.status_code == 200 and answer.json()["totalResults"] == 0
    page.goto(f"{base}/console/sources")  # shown once: not on the next visit
    expect(page.get_by_label("Token")).to_have_count(0)
    page.get_by_role("button", name="Delete BambooHR").click()
    expect(page.get_by_text("Source deleted.")).to_be_visible()
    expect(page.get_by_test_id("source-row").filter(has_text="BambooHR")).to_have_count(0)
    assert requests.get(f"{base}/scim/v2/Users", headers={"Authorization": f"Bearer {token}"}, timeout=10).status_code == 401
    context.close()
