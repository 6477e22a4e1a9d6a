"""The admin console in a real browser: headless Chromium drives `python -m idp_local` (demo directory,
the OfficeSpace stand-in) by labels and button texts, as an administrator would after `make run`:
sign in (an administrator enrols an authenticator app at the first console visit, whatever the MFA
policy, and gives a code at the next), add OfficeSpace from the catalogue, download its certificate, bind a group, configure
Identity Management against the stand-in, test the connection, watch a user reach the stand-in's SCIM
server, rotate the signing key, read a user's provisioning log. A non-admin gets 403; a form posted
without its CSRF token is refused. Each step leaves a screenshot in docs/screenshots/ (the README's)."""
from __future__ import annotations

import time
from pathlib import Path

import pytest
import requests
from playwright.sync_api import expect

from idp_testing.console_browser import ADMIN, new_page, shot, sign_in
from idp_testing.stack import start_stack, stop_stack

pytestmark = pytest.mark.e2e


BOB = ("bob", "bob-demo-Pass1")
PHONE = {"width": 390, "height": 844}
SLUG = "officespace-hq"


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    running = start_stack(tmp_path_factory.mktemp("console-stack"), demo=True, standin=True)
    yield running
    stop_stack(running)


def nav(page, name: str):
    return page.get_by_role("navigation", name="Console").get_by_role("link", name=name, exact=True)


def tab(page, name: str):
    return page.get_by_role("tab", name=name, exact=True)


def scim_user(stack, user_name: str) -> dict | None:
    answer = requests.get(f"{stack.scim_base_url}/Users", params={"filter": f'userName eq "{user_name}"'},
                          headers={"Authorization": f"Bearer {stack.scim_token}"}, timeout=5)
    resources = answer.json().get("Resources") or []
    return resources[0] if resources else None


def test_an_administrator_configures_officespace_in_the_console(stack, browser):
    page = new_page(browser)
    sign_in(page, stack, ADMIN)
    page.wait_for_url(f"{stack.base_url}/console")
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    expect(page.locator('[data-testid="app-row"][data-slug="officespace"]')).to_be_visible()
    shot(page, "01_dashboard")

    # Add New Application -> the catalogue -> OfficeSpace
    nav(page, "Applications").click()
    page.get_by_role("link", name="Add New Application").click()
    expect(page.get_by_role("link", name="Custom SAML")).to_be_visible()
    shot(page, "02_catalogue")
    page.get_by_role("link", name="OfficeSpace", exact=True).click()
    page.get_by_label("Display Label").fill("OfficeSpace HQ")
    page.get_by_label("SP Entity ID").fill("hq.officespacesoftware.com")
    page.get_by_label("ACS URLs").fill("https://hq.officespacesoftware.com/users/sign_in/saml")
    page.get_by_label("Default RelayState").fill("/dashboard")
    shot(page, "03_new_app")
    page.get_by_role("button", name="Save Application").click()

    # The SSO tab: the IdP's side, read-only, and the certificate to download
    page.wait_for_url(f"{stack.base_url}/console/apps/{SLUG}/sso?done=created")
    expect(page.get_by_label("SSO IdP URL")).to_have_value(f"{stack.base_url}/saml2/{SLUG}")
    expect(page.get_by_label("SSO IdP URL")).not_to_be_editable()
    served = requests.get(f"{stack.base_url}/saml2/{SLUG}/certificate.pem", timeout=5)
    expect(page.get_by_test_id("fingerprint")).to_have_text(served.headers["X-Certificate-Fingerprint-SHA256"])
    shot(page, "04_sso")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download certificate").click()
    assert download.value.suggested_filename == "certificate.pem"
    assert Path(download.value.path()).read_text() == served.text
    with page.expect_download() as metadata:
        page.get_by_role("link", name="Export Metadata").click()
    assert "EntityDescriptor" in Path(metadata.value.path()).read_text()

    # A group with carol (bound to no app yet), bound to the new app on its User Groups tab
    nav(page, "Groups").click()
    page.get_by_role("link", name="Create group").click()
    page.get_by_label("Name").fill("HQ Staff")
    page.get_by_role("button", name="Save", exact=True).click()
    page.get_by_label("New member (login or email address)").fill("carol")
    page.get_by_role("button", name="Add member").click()
    expect(page.locator('[data-testid="member-row"][data-username="carol"]')).to_be_visible()
    shot(page, "05_group")
    nav(page, "Applications").click()
    page.get_by_role("link", name="OfficeSpace HQ").click()
    tab(page, "User Groups").click()
    page.get_by_label("HQ Staff").check()
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_text("Access saved.")).to_be_visible()
    expect(page.get_by_label("HQ Staff")).to_be_checked()
    shot(page, "06_user_groups")

    # Identity Management against the stand-in's SCIM server: Test Connection, then Activate
    tab(page, "Identity Management").click()
    page.get_by_label("Base URL").fill(stack.scim_base_url)
    page.get_by_label("Token Key").fill(stack.scim_token)
    page.get_by_label("Enable management of User Groups and Group Membership in this application").check()
    page.get_by_role("button", name="Test Connection").click()
    result = page.get_by_test_id("test-result")
    expect(result).to_have_attribute("data-ok", "true")
    expect(result).to_contain_text("Connection works")
    expect(page.get_by_label("Token Key")).to_have_value("")  # write-only: never echoed
    assert stack.scim_token not in page.content()
    shot(page, "07_identity_management_test")
    page.get_by_role("button", name="Activate", exact=True).click()
    expect(page.get_by_text("Provisioning is active")).to_be_visible()
    shot(page, "08_identity_management_active")

    # carol reaches the stand-in's SCIM server (through the new app only: the demo app does not grant her)
    deadline = time.monotonic() + 12
    while scim_user(stack, "carol@example.com") is None and time.monotonic() < deadline:
        time.sleep(0.3)
    assert scim_user(stack, "carol@example.com") is not None, "carol was not provisioned"
    standin = page.context.new_page()
    standin.goto(f"{stack.standin_url}/provisioning")
    expect(standin.locator('[data-testid="provisioning-user-row"][data-username="carol@example.com"]')).to_be_visible()
    shot(standin, "09_standin_provisioned")
    standin.close()

    # Key rotation: add the next key, activate it after the cut-over warning
    tab(page, "SSO").click()
    page.get_by_role("button", name="Add next key").click()
    expect(page.locator('[data-testid="key-row"][data-status="next"]')).to_be_visible()
    next_kid = page.locator('[data-testid="key-row"][data-status="next"]').get_attribute("data-kid")
    page.get_by_role("link", name="Activate next key").click()
    expect(page.get_by_text("pins one certificate")).to_be_visible()
    shot(page, "10_key_cutover")
    page.get_by_label("Yes, the SP has the new certificate").check()
    page.get_by_role("button", name="Activate next key").click()
    expect(page.locator(f'[data-testid="key-row"][data-kid="{next_kid}"][data-status="active"]')).to_be_visible()
    rotated = requests.get(f"{stack.base_url}/saml2/{SLUG}/certificate.pem", timeout=5)
    assert rotated.text != served.text
    expect(page.get_by_test_id("fingerprint")).to_have_text(rotated.headers["X-Certificate-Fingerprint-SHA256"])
    shot(page, "11_key_rotated")

    # carol's page: her access (through HQ Staff) and her provisioning log in the new app
    nav(page, "Users").click()
    page.get_by_label("Search users").fill("carol")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name="carol", exact=True).click()
    expect(page.locator(f'[data-testid="access-row"][data-slug="{SLUG}"]')).to_contain_text("group HQ Staff")
    expect(page.locator('[data-testid="log-row"][data-outcome="success"]').first).to_be_visible()
    shot(page, "12_user")
    tab_page = page.context.new_page()
    tab_page.goto(f"{stack.base_url}/console/apps/{SLUG}/log")
    expect(tab_page.locator('[data-testid="log-row"]').first).to_be_visible()
    shot(tab_page, "13_provisioning_log")
    tab_page.close()

    # The dashboard on a phone
    phone = browser.new_context(viewport=PHONE, storage_state=page.context.storage_state()).new_page()
    phone.goto(f"{stack.base_url}/console")
    expect(phone.locator(f'[data-testid="app-row"][data-slug="{SLUG}"]')).to_be_visible()
    shot(phone, "14_dashboard_phone")
    phone.context.close()

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(f"{stack.base_url}/login?signed_out=1")
    page.context.close()


def test_a_non_admin_gets_403(stack, browser):
    page = new_page(browser)
    sign_in(page, stack, BOB)  # the login comes back to the console ...
    page.wait_for_url(f"{stack.base_url}/console")
    expect(page.get_by_role("heading", name="Administrators only")).to_be_visible()
    answer = page.goto(f"{stack.base_url}/console/users")  # ... which answers a signed-in non-admin with 403
    assert answer.status == 403
    expect(page.get_by_text("not an administrator")).to_be_visible()
    shot(page, "15_not_admin")
    page.context.close()


def test_a_form_posted_without_its_csrf_token_is_refused(stack, browser):
    page = new_page(browser)
    sign_in(page, stack, ADMIN, start="/console/users/new")
    page.wait_for_url(f"{stack.base_url}/console/users/new")
    form = {"username": "mallory", "email": "mallory@example.com", "firstname": "Mal", "lastname": "Lory"}
    refused = page.context.request.post(f"{stack.base_url}/console/users/new", form=form, max_redirects=0)
    assert refused.status == 403 and "csrf_failed" in refused.text()
    token = page.locator('input[name="csrf"]').first.get_attribute("value")
    accepted = page.context.request.post(f"{stack.base_url}/console/users/new", form={**form, "csrf": token}, max_redirects=0)
    assert accepted.status == 303
    users = stack.admin().get(f"{stack.base_url}/admin/users", params={"limit": 200}, timeout=5).json()["items"]
    assert [u["username"] for u in users].count("mallory") == 1

    # The same form as a person fills it: the contract's labels, Save, and a clash shown next to its field.
    page.get_by_label("Username").fill("erin")
    page.get_by_label("Email").fill("mallory@example.com")
    page.get_by_label("First name").fill("Erin")
    page.get_by_label("Last name").fill("Early")
    page.get_by_label("Password").fill("heron-console-Pass1")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator("#email-error")).to_contain_text("already taken")
    shot(page, "16_form_error")
    page.get_by_label("Email").fill("erin@example.com")
    page.get_by_label("Password").fill("heron-console-Pass1")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("heading", name="erin")).to_be_visible()
    expect(page.get_by_text("User created.")).to_be_visible()
    page.context.close()
