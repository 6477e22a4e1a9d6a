"""The password policy and the Applications page on a phone, in headless Chromium against `python -m idp_local`
(the demo directory), found by their labels as an administrator finds them: Settings → "Password policy" (a
refused minimum length shown beside its field, then saved and read back through GET /admin/password-policy),
Create user with a password the saved policy refuses (the rule named beside the Password field), and the
Applications and Settings pages 390 px wide with nothing to scroll sideways."""
from __future__ import annotations

import pyotp
import pytest
from playwright.sync_api import expect

from idp_testing.stack import start_stack, stop_stack

pytestmark = pytest.mark.e2e

ADMIN = ("admin", "admin-demo-Pass1")
TIMEOUT_MS = 15_000
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    running = start_stack(tmp_path_factory.mktemp("password-policy-stack"), demo=True)
    yield running
    stop_stack(running)


@pytest.fixture(scope="module")
def console(stack, browser):
    """The demo administrator signed in to the console (an authenticator app enrolled at this first visit)."""
    context = browser.new_context(viewport={"width": 1100, "height": 800})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.goto(f"{stack.base_url}/console")
    page.get_by_label("Username or email").fill(ADMIN[0])
    page.get_by_label("Password").fill(ADMIN[1])
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.get_by_role("button", name="Set up authenticator app").click()
    secret = page.get_by_test_id("setup-key").inner_text().strip()
    page.get_by_label("Code from the app").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Confirm").click()
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(f"{stack.base_url}/console")
    yield page
    context.close()


def test_the_settings_section_sets_the_policy_and_the_user_form_names_the_rule(stack, console):
    page = console
    page.get_by_role("link", name="Settings").click()
    section = page.get_by_role("region", name="Password policy")
    expect(section.get_by_label("Minimum length")).to_have_value("12")
    expect(section.get_by_label("Block common passwords")).to_be_checked()
    expect(section.get_by_label("Block passwords containing the user's name")).to_be_checked()

    section.get_by_label("Minimum length").fill("7")
    section.get_by_role("button", name="Save").click()
    section = page.get_by_role("region", name="Password policy")
    expect(section.locator("#min_length-error")).to_contain_text("greater than or equal to 8")
    assert stack.admin().get(f"{stack.base_url}/admin/password-policy", timeout=10).json()["min_length"] == 12

    section.get_by_label("Minimum length").fill("14")
    section.get_by_label("Block common passwords").uncheck()
    section.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Password policy saved.")).to_be_visible()
    expect(page.get_by_role("region", name="Password policy").get_by_label("Minimum length")).to_have_value("14")
    answer = stack.admin().get(f"{stack.base_url}/admin/password-policy", timeout=10)
    assert answer.json() == {"min_length": 14, "block_common": False, "block_user_info": True}

    page.get_by_role("link", name="Users").click()
    page.get_by_role("link", name="Create user").click()
    for label, value in (("Username", "rowan"), ("Email", "rowan@example.com"), ("First name", "Rowan"),
                         ("Last name", "Ashby"), ("Password", "Harbor-Lamp-1")):
        page.get_by_label(label, exact=True).fill(value)
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#password-error")).to_contain_text("at least 14 characters")
    expect(page.locator("#password-error")).to_contain_text("(password policy: min_length)")
    page.get_by_label("Password", exact=True).fill("Rowan-Harbor-Lamp-1")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#password-error")).to_contain_text("must not contain the user's username")
    page.get_by_label("Password", exact=True).fill("password12345678")  # common, but that block is off now
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("User created.")).to_be_visible()


@pytest.mark.parametrize("path", ["/console/apps", "/console/settings"])
def test_the_page_fits_a_390_pixel_phone_without_sideways_scrolling(stack, console, browser, path):
    phone = browser.new_context(viewport=PHONE, storage_state=console.context.storage_state()).new_page()
    try:
        phone.goto(f"{stack.base_url}{path}")
        if path == "/console/apps":
            row = phone.locator('[data-testid="app-row"][data-slug="officespace"]')
            expect(row.get_by_role("link", name="OfficeSpace")).to_be_visible()
            expect(row.get_by_text("/saml2/officespace")).to_be_visible()
            expect(phone.get_by_role("link", name="Add New Application")).to_be_visible()
        else:
            expect(phone.get_by_role("region", name="Password policy").get_by_label("Minimum length")).to_be_visible()
        expect(phone.get_by_role("link", name="Settings")).to_be_visible()  # the navigation wraps, all of it shown
        assert phone.evaluate("document.documentElement.scrollWidth") <= 390
        wider = phone.evaluate("""() => [...document.querySelectorAll('body *')]
            .filter(e => e.getBoundingClientRect().right > 390.5 && !e.closest('.table-wrap'))
            .map(e => e.tagName + '.' + e.className)""")
        assert wider == []
    finally:
        phone.context.close()
