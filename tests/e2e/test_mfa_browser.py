"""Passkeys in a real browser: Debian's Chromium with a CDP virtual authenticator (ctap2, internal
transport, resident keys, user verification) against `python -m idp_local` served on `localhost` (an IP
address cannot be an RP ID): a passkey registered on /account, the passkey as the second factor after a
password, and passwordless "Sign in with a passkey"; each ends with the OfficeSpace stand-in (a strict
python3-saml SP) accepting the Response, whose AuthnContextClassRef is the REFEDS MFA profile."""
from __future__ import annotations

from urllib.parse import urlsplit

import pytest
import requests
from playwright.sync_api import expect, sync_playwright

from idp_testing.browser import VIEWPORT, launch, screenshot
from idp_testing.stack import start_stack, stop_stack

pytestmark = pytest.mark.e2e

ALICE = ("alice", "alice-demo-Pass1")
MFA = "https://refeds.org/profile/mfa"
TIMEOUT_MS = 15_000


class Local:
    """The stack's URLs on localhost (it listens there: HOST=localhost)."""

    def __init__(self, running):
        self.running = running
        self.idp = f"http://localhost:{urlsplit(running.base_url).port}"
        self.sp = f"http://localhost:{running.standin_port}"


@pytest.fixture(scope="module")
def local(tmp_path_factory):
    running = start_stack(tmp_path_factory.mktemp("mfa-browser"), demo=True, standin=True, extra_env={"HOST": "localhost"})
    admin = running.admin()
    r = admin.put(f"{running.base_url}/admin/mfa", json={"policy": "optional", "grace_days": 7, "methods": ["totp", "webauthn"]})
    assert r.status_code == 200, r.text
    yield Local(running)
    stop_stack(running)


@pytest.fixture(scope="module")
def browser_page():
    """One page with a virtual platform authenticator (its passkeys live as long as the page)."""
    with sync_playwright() as playwright:
        chromium = launch(playwright)
        context = chromium.new_context(viewport=VIEWPORT)
        context.set_default_timeout(TIMEOUT_MS)
        page = context.new_page()
        cdp = context.new_cdp_session(page)
        cdp.send("WebAuthn.enable")
        authenticator = cdp.send("WebAuthn.addVirtualAuthenticator", {"options": {
            "protocol": "ctap2", "transport": "internal", "hasResidentKey": True, "hasUserVerification": True,
            "isUserVerified": True, "automaticPresenceSimulation": True}})["authenticatorId"]
        page.cdp, page.authenticator_id = cdp, authenticator
        yield page
        context.close()
        chromium.close()


def last_sign_in(local: Local) -> dict:
    return requests.get(f"{local.sp}/sign-ins.json", timeout=5).json()["sign_ins"][0]


def sp_accepted_with_mfa(local: Local, page, name: str) -> None:
    page.wait_for_url(f"{local.sp}/users/sign_in/saml")
    expect(page.get_by_test_id("sign-in-ok")).to_be_visible()
    expect(page.get_by_test_id("nameid")).to_have_text("alice@example.com")
    entry = last_sign_in(local)
    assert entry["ok"] and entry["authn_contexts"] == [MFA], entry
    screenshot(page, name)


def start_at_sp(local: Local, page) -> None:
    page.goto(f"{local.sp}/")
    page.get_by_test_id("sign-in-button").click()
    page.wait_for_url(f"{local.idp}/login?state=*")


def test_register_a_passkey_on_the_account_page(local, browser_page):
    page = browser_page
    page.goto(f"{local.idp}/login")
    page.get_by_label("Username or email").fill(ALICE[0])
    page.get_by_label("Password").fill(ALICE[1])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{local.idp}/")
    page.goto(f"{local.idp}/account")
    expect(page.get_by_role("heading", name="Your account")).to_be_visible()
    page.get_by_label("Passkey name").fill("Work laptop")
    page.get_by_role("button", name="Add a passkey").click()
    expect(page.get_by_role("status")).to_contain_text("Passkey added.")
    expect(page.get_by_test_id("recovery-codes").locator("li")).to_have_count(10)  # the first factor: codes, shown once
    expect(page.get_by_test_id("factor-webauthn")).to_contain_text("Work laptop")
    screenshot(page, "mfa_passkey_registered")

    (credential,) = page.cdp.send("WebAuthn.getCredentials", {"authenticatorId": page.authenticator_id})["credentials"]
    assert credential["isResidentCredential"] and credential["rpId"] == "localhost"
    factors = local.running.admin().get(f"{local.running.base_url}/admin/users").json()["items"]
    alice = next(u for u in factors if u["username"] == "alice")
    listed = local.running.admin().get(f"{local.running.base_url}/admin/users/{alice['id']}/mfa").json()["factors"]
    assert [(f["type"], f["name"]) for f in listed] == [("webauthn", "Work laptop")]

    # the session that registered the passkey verified with it: the SP gets MFA at once
    page.goto(f"{local.sp}/")
    page.get_by_test_id("sign-in-button").click()
    sp_accepted_with_mfa(local, page, "mfa_after_registration")


def test_passkey_as_the_second_factor(local, browser_page):
    page = browser_page
    page.context.clear_cookies()
    start_at_sp(local, page)
    page.get_by_label("Username or email").fill(ALICE[0])
    page.get_by_label("Password").fill(ALICE[1])
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Verify it's you")).to_be_visible()
    expect(page.locator('input[name="code"]')).to_be_visible()  # a recovery code would do too
    screenshot(page, "mfa_second_step")
    page.get_by_role("button", name="Use a passkey").click()
    sp_accepted_with_mfa(local, page, "mfa_passkey_second_factor")


def test_passwordless_sign_in_with_a_passkey(local, browser_page):
    page = browser_page
    page.context.clear_cookies()
    start_at_sp(local, page)
    expect(page.get_by_role("button", name="Sign in")).to_have_count(1)  # the password form's; the passkey is a link
    page.get_by_role("link", name="Sign in with a passkey").click()  # no username, no password
    sp_accepted_with_mfa(local, page, "mfa_passwordless")


def test_the_default_stack_answers_on_localhost_as_on_127_0_0_1(local_stack):
    """`make run` listens on 127.0.0.1; http://localhost:<PORT> reaches the same IdP (where passkeys work)."""
    port = urlsplit(local_stack.base_url).port
    for host in ("127.0.0.1", "localhost"):
        r = requests.get(f"http://{host}:{port}/login", timeout=10)
        assert r.status_code == 200 and "Sign in with a passkey" in r.text, host
        js = requests.get(f"http://{host}:{port}/static/webauthn.js", timeout=10)
        assert js.status_code == 200 and "parseRequestOptionsFromJSON" in js.text
        assert js.headers["content-type"].startswith("text/javascript") and js.headers["x-content-type-options"] == "nosniff"
        assert "script-src 'self'" in r.headers["content-security-policy"]  # the one static script; no inline script


def test_idp_initiated_step_up_enrols_a_passkey_and_continues_to_the_app(local, browser_page):
    """Issue 23 item 2 as the review saw it: policy optional, the app requires MFA, a password-only user opens it
    IdP-initiated, is sent to enrol, adds a passkey and goes on with "Continue" to the app (the SP gets MFA)."""
    page, running = browser_page, local.running
    admin, base = running.admin(), running.base_url
    user = admin.post(f"{base}/admin/users", json={"username": "bea", "email": "bea@example.com", "firstname": "Bea",
                                                   "lastname": "Step", "password": "bea-climb-Pass1-x"}).json()
    assert admin.put(f"{base}/admin/apps/officespace/users/{user['id']}").status_code == 204
    assert admin.patch(f"{base}/admin/apps/officespace", json={"mfa": "required"}).status_code == 200
    try:
        page.context.clear_cookies()
        page.goto(f"{local.idp}/saml2/officespace")  # IdP-initiated
        page.get_by_label("Username or email").fill("bea")
        page.get_by_label("Password").fill("bea-climb-Pass1-x")
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{local.idp}/account/setup?resume=*")
        expect(page.get_by_role("status")).to_contain_text("requires a second sign-in step")
        page.get_by_label("Passkey name").fill("Bea's laptop")
        page.get_by_role("button", name="Add a passkey").click()
        expect(page.get_by_role("status")).to_contain_text("Passkey added.")
        expect(page.get_by_test_id("recovery-codes").locator("li")).to_have_count(10)
        screenshot(page, "mfa_step_up_enrolled")
        page.get_by_role("button", name="Continue").click()
        page.wait_for_url(f"{local.sp}/users/sign_in/saml")
        expect(page.get_by_test_id("sign-in-ok")).to_be_visible()
        expect(page.get_by_test_id("nameid")).to_have_text("bea@example.com")
        entry = last_sign_in(local)
        assert entry["ok"] and entry["authn_contexts"] == [MFA] and entry["flow"] == "idp-initiated", entry
    finally:
        admin.patch(f"{base}/admin/apps/officespace", json={"mfa": "inherit"})
