"""Issue 26 items 2 and 3 in a real browser (Debian's Chromium) against `python -m idp_local` with the OfficeSpace
stand-in, the emails read from the local mailbox (GET /_local/mail.json) as a user reads them: an administrator's
activation link sets the first password and the user signs in to the stand-in SP with it; the user enrols an
authenticator app; "Forgot password?" on another browser emails a reset link whose form sets a new password; the
first browser's session has ended, the old password is refused, and the new one still asks for the TOTP code
before the SP gets its Response."""
from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
import requests
from playwright.sync_api import expect

from idp.signon.mfa import totp
from idp_testing.browser import VIEWPORT, screenshot
from idp_testing.stack import start_stack, stop_stack

pytestmark = pytest.mark.e2e

USER = {"username": "lin", "email": "lin@example.com", "firstname": "Lin", "lastname": "Activate"}
FIRST = "Violet-Harbor-Lantern-42"
SECOND = "Amber-Meadow-Compass-77"
TIMEOUT_MS = 15_000
SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"  # the README's


def readme_shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"lifecycle_{name}.png"), full_page=True)


@pytest.fixture(scope="module")
def running(tmp_path_factory):
    stack = start_stack(tmp_path_factory.mktemp("lifecycle-browser"), demo=True, standin=True)
    admin = stack.admin()
    assert admin.put(f"{stack.base_url}/admin/mfa", json={"policy": "optional", "grace_days": 7,
                                                          "methods": ["totp", "webauthn"]}).status_code == 200
    yield stack
    stop_stack(stack)


def newest_link(running, to: str, subject_start: str) -> str:
    """The link of the newest email to ``to`` whose subject starts so (from the local mailbox)."""
    for _ in range(50):
        messages = requests.get(f"{running.base_url}/_local/mail.json", timeout=5).json()["messages"]
        found = [m for m in messages if to in m["to"] and m["subject"].startswith(subject_start)]
        if found:
            link = re.search(r"https?://\S+/password/set\?token=\S+", found[0]["text"]).group(0)
            assert link.startswith(running.base_url + "/password/set?token="), link
            return link
        time.sleep(0.1)
    raise AssertionError(f"no email {subject_start!r} to {to}")


def set_password(page, link: str, password: str, shot: str, readme: str | None = None) -> None:
    response = page.goto(link)
    assert response.headers["referrer-policy"] == "no-referrer"
    page.get_by_label("New password", exact=True).fill(password)
    page.get_by_label("Confirm new password", exact=True).fill(password)
    screenshot(page, shot)
    if readme:
        readme_shot(page, readme)
    page.get_by_role("button", name="Set password").click()
    expect(page.get_by_role("status")).to_contain_text("Your password is set")


def sign_in_at_sp(running, page, username: str, password: str) -> None:
    sp = f"http://127.0.0.1:{running.standin_port}"
    page.goto(f"{sp}/")
    page.get_by_test_id("sign-in-button").click()
    page.wait_for_url(f"{running.base_url}/login?state=*")
    page.get_by_label("Username or email").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def sp_signed_in(running, page) -> None:
    page.wait_for_url(f"http://127.0.0.1:{running.standin_port}/users/sign_in/saml")
    expect(page.get_by_test_id("sign-in-ok")).to_be_visible()
    expect(page.get_by_test_id("nameid")).to_have_text(USER["email"])


def test_activation_then_forgot_password_end_to_end(running, browser):
    base, admin = running.base_url, running.admin()
    created = admin.post(f"{base}/admin/users", json={**USER, "send_activation": True})
    assert created.status_code == 201, created.text
    assert admin.put(f"{base}/admin/apps/officespace/users/{created.json()['id']}").status_code == 204

    first = browser.new_context(viewport=VIEWPORT)
    first.set_default_timeout(TIMEOUT_MS)
    page = first.new_page()
    set_password(page, newest_link(running, USER["email"], "Activate"), FIRST, "lifecycle_activation_form")
    sign_in_at_sp(running, page, USER["username"], FIRST)
    sp_signed_in(running, page)

    # an authenticator app on /account (the session's password was just typed)
    page.goto(f"{base}/account")
    page.get_by_role("button", name="Set up authenticator app").click()
    secret = page.get_by_test_id("setup-key").inner_text()
    page.get_by_label("Code from the app").fill(totp.code_at(secret, time.time()))
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_text("Authenticator app added")).to_be_visible()

    # Forgot password? in another browser
    second = browser.new_context(viewport=VIEWPORT)
    second.set_default_timeout(TIMEOUT_MS)
    other = second.new_page()
    other.goto(f"{base}/login")
    other.get_by_role("link", name="Forgot password?").click()
    other.get_by_label("Username or email").fill(USER["email"])
    readme_shot(other, "forgot_password")
    other.get_by_role("button", name="Send reset link").click()
    expect(other.get_by_role("status")).to_contain_text("If an account matches")
    screenshot(other, "lifecycle_forgot_sent")
    set_password(other, newest_link(running, USER["email"], "Reset"), SECOND, "lifecycle_reset_form", readme="new_password")
    notices = requests.get(f"{base}/_local/mail.json", timeout=5).json()["messages"]
    assert any(m["subject"].endswith("password was changed") and USER["email"] in m["to"] for m in notices)

    # the first browser's session ended with the reset
    page.goto(f"{base}/")
    page.wait_for_url(f"{base}/login*")

    # the old password is refused; the new one still asks for the second factor before the SP gets a Response
    sign_in_at_sp(running, other, USER["username"], FIRST)
    expect(other.get_by_role("alert")).to_contain_text("Wrong username or password")
    other.get_by_label("Username or email").fill(USER["username"])
    other.get_by_label("Password").fill(SECOND)
    other.get_by_role("button", name="Sign in").click()
    code = other.get_by_label("Code from your authenticator app, or a recovery code")
    expect(code).to_be_visible()
    code.fill(totp.code_at(secret, time.time() + 30))  # the next step: the enrolment used this one
    other.get_by_role("button", name="Verify").click()
    sp_signed_in(running, other)
    screenshot(other, "lifecycle_signed_in_after_reset")
    first.close()
    second.close()
