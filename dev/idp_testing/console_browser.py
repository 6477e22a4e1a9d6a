"""The console in headless Chromium against the local stack: a page of the console's size, the administrator's
sign-in (the password, then the second factor: the authenticator app enrolled at the first visit, a recovery code
at the next), and a screenshot into docs/screenshots (the README's)."""
from __future__ import annotations

from pathlib import Path

import pyotp
from playwright.sync_api import expect

SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
ADMIN = ("admin", "admin-demo-Pass1")
VIEWPORT = {"width": 1280, "height": 800}
TIMEOUT_MS = 15_000
#: The authenticator app the administrator enrolled in this module's stack: its secret and its recovery codes.
ADMIN_FACTOR: dict = {}


def new_page(browser, viewport=VIEWPORT):
    context = browser.new_context(viewport=viewport, accept_downloads=True)
    context.set_default_timeout(TIMEOUT_MS)
    return context.new_page()


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"console_{name}.png"), full_page=True)


def sign_in(page, stack, creds, start="/console") -> None:
    page.goto(f"{stack.base_url}{start}")
    page.wait_for_url(f"{stack.base_url}/login?state=*")
    page.get_by_label("Username or email").fill(creds[0])
    page.get_by_label("Password").fill(creds[1])
    page.get_by_role("button", name="Sign in", exact=True).click()
    if creds == ADMIN:
        second_factor(page)


def second_factor(page) -> None:
    """An administrator's console session always passes a second factor: at the first visit an authenticator app
    is enrolled (the setup key read off the page, its code from pyotp) and Continue goes on to the console; at the
    next sign-ins the login's second step takes one of the recovery codes shown then."""
    setup = page.get_by_role("button", name="Set up authenticator app")
    code = page.locator('input[name="code"]')
    setup.or_(code).first.wait_for()
    if code.is_visible():
        code.fill(ADMIN_FACTOR["recovery_codes"].pop())
        page.get_by_role("button", name="Verify").click()
        return
    setup.click()
    secret = page.get_by_test_id("setup-key").inner_text().strip()
    page.get_by_label("Code from the app").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_text("Authenticator app added")).to_be_visible()
    ADMIN_FACTOR.update(secret=secret, recovery_codes=page.get_by_test_id("recovery-codes").locator("code").all_inner_texts())
    assert len(ADMIN_FACTOR["recovery_codes"]) == 10
    page.get_by_role("button", name="Continue").click()
