"""The product in a real browser: headless Chromium drives `python -m idp_local` (demo directory and
the OfficeSpace stand-in) the way a user does after `make run`.

One stack for the module; each test gets a fresh browser context (no cookies) and leaves a
screenshot in tests/e2e/screenshots/<name>.png.
"""
from __future__ import annotations

import time

import pytest
import requests
from playwright.sync_api import expect

from idp_testing.browser import VIEWPORT, screenshot
from idp_testing.stack import start_stack, stop_stack

pytestmark = pytest.mark.e2e

APP = "officespace"
ALICE = ("alice", "alice-demo-Pass1")
BOB = ("bob", "bob-demo-Pass1")
CAROL = ("carol", "carol-demo-Pass1")
TIMEOUT_MS = 15_000


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    running = start_stack(tmp_path_factory.mktemp("browser-stack"), demo=True, standin=True)
    yield running
    stop_stack(running)


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(TIMEOUT_MS)
    tab = context.new_page()
    yield tab
    context.close()


def by_testid(page, name: str):
    return page.get_by_test_id(name)


def fill_login(page, creds: tuple[str, str]) -> None:
    """On our IdP's login page: fill the form and submit it."""
    page.get_by_label("Username or email").fill(creds[0])
    page.get_by_label("Password").fill(creds[1])
    page.get_by_role("button", name="Sign in").click()


def sign_ins(stack) -> list[dict]:
    return requests.get(f"{stack.standin_url}/sign-ins.json", timeout=5).json()["sign_ins"]


def test_sp_initiated_sign_in(stack, page):
    page.goto(f"{stack.standin_url}/")
    expect(page.get_by_role("heading", name="Book a desk at OfficeSpace")).to_be_visible()
    screenshot(page, "sp_home")
    page.get_by_test_id("sign-in-button").click()

    # Redirected through /saml2/officespace?SAMLRequest=... to our login page, which names the app.
    page.wait_for_url(f"{stack.base_url}/login?state=*")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.locator("main")).to_contain_text("to continue to OfficeSpace")
    page.get_by_label("Username or email").fill(ALICE[0])
    screenshot(page, "sp_initiated_login")
    page.get_by_label("Password").fill(ALICE[1])
    page.get_by_role("button", name="Sign in").click()

    # The auto-submitting form POSTs the SAMLResponse to the stand-in's ACS.
    page.wait_for_url(f"{stack.standin_url}/users/sign_in/saml")
    expect(by_testid(page, "sign-in-ok")).to_be_visible()
    expect(by_testid(page, "nameid")).to_have_text("alice@example.com")
    expect(by_testid(page, "nameid-format")).to_have_text("urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress")
    expect(by_testid(page, "flow")).to_contain_text("SP-initiated")
    session_index = by_testid(page, "session-index").inner_text().strip()
    assert session_index and session_index != "—"
    values = {
        row.get_attribute("data-attribute-name"): row.get_by_test_id("attribute-value").inner_text().strip()
        for row in by_testid(page, "attribute-row").all()
    }
    assert values == {"email": "alice@example.com", "name": "Alice Archer", "first_name": "Alice",
                      "last_name": "Archer"}
    screenshot(page, "sp_initiated")


def test_idp_initiated_from_the_portal(stack, page):
    page.goto(f"{stack.base_url}/login")
    fill_login(page, BOB)

    page.wait_for_url(f"{stack.base_url}/")
    expect(page.get_by_role("heading", name="Your applications")).to_be_visible()
    expect(page.locator("main")).to_contain_text("bob@example.com")
    tile = page.locator(f'ul.apps a[data-slug="{APP}"]')
    expect(tile).to_have_text("OfficeSpace")
    screenshot(page, "portal")
    tile.click()

    page.wait_for_url(f"{stack.standin_url}/users/sign_in/saml")
    expect(by_testid(page, "nameid")).to_have_text("bob@example.com")
    expect(by_testid(page, "flow")).to_contain_text("IdP-initiated")
    expect(page.locator('[data-testid="attribute-row"][data-attribute-name="name"] [data-testid="attribute-value"]')
           ).to_have_text("Bob Baker")
    screenshot(page, "idp_initiated")


def test_unbound_user_is_denied_and_nothing_reaches_the_sp(stack, page):
    before = len(sign_ins(stack))
    page.goto(f"{stack.standin_url}/")
    page.get_by_test_id("sign-in-button").click()
    page.wait_for_url(f"{stack.base_url}/login?state=*")

    with page.expect_response(lambda r: r.url == f"{stack.base_url}/login" and r.request.method == "POST") as answer:
        fill_login(page, CAROL)
    assert answer.value.status == 403
    expect(page.get_by_role("heading", name="No access to OfficeSpace")).to_be_visible()
    expect(page.locator("main")).to_contain_text("You are not allowed to use OfficeSpace")
    expect(page.locator("main")).to_contain_text("Ask an administrator to give you access")
    expect(page.locator("main code")).to_have_text("access_denied")
    screenshot(page, "denied")

    assert page.url.startswith(stack.base_url)
    time.sleep(0.5)  # nothing is in flight, but give a stray auto-POST the chance to show up
    after = sign_ins(stack)
    assert len(after) == before
    assert not any("carol" in (s.get("nameid") or "") for s in after)
    page.goto(f"{stack.standin_url}/")
    expect(by_testid(page, "sign-in-button")).to_be_visible()  # the stand-in has no session for carol
    expect(page.get_by_test_id("sign-in-log-row").filter(has_text="carol")).to_have_count(0)
    screenshot(page, "denied_standin_home")


def test_user_created_by_the_admin_api_is_provisioned(stack, page):
    admin = stack.admin()
    base = stack.base_url
    r = admin.post(f"{base}/admin/users", json={"username": "dana", "email": "dana@example.com", "firstname": "Dana",
                                               "lastname": "Doe", "password": "river-e2e-Pass1"}, timeout=10)
    assert r.status_code == 201, r.text
    user_id = r.json()["id"]
    groups = admin.get(f"{base}/admin/groups", timeout=10).json()["items"]
    engineering = next(g for g in groups if g["name"] == "Engineering")
    assert admin.put(f"{base}/admin/groups/{engineering['id']}/members/{user_id}", timeout=10).status_code == 204

    page.goto(f"{stack.standin_url}/provisioning")
    expect(page.get_by_role("heading", name="People and groups")).to_be_visible()
    row = page.locator('[data-testid="provisioning-user-row"][data-username="dana@example.com"]')
    # The page refreshes itself every 2 s; the contract promises the push within 2 s of the call.
    expect(row).to_be_visible(timeout=12_000)
    expect(row).to_have_attribute("data-active", "true")
    expect(row.get_by_test_id("user-name")).to_contain_text("Dana")
    eng_row = page.locator('[data-testid="provisioning-group-row"][data-group-name="Engineering"]')
    expect(eng_row.get_by_test_id("group-members")).to_contain_text("dana@example.com", timeout=12_000)
    screenshot(page, "provisioning")


def test_sign_out_ends_the_idp_session(stack, page):
    page.goto(f"{stack.base_url}/login")
    fill_login(page, BOB)
    page.wait_for_url(f"{stack.base_url}/")
    assert any(c["name"] == "__Host-idp_session" for c in page.context.cookies())

    # While signed in, the SSO URL goes straight to the SP.
    page.goto(f"{stack.base_url}/saml2/{APP}")
    page.wait_for_url(f"{stack.standin_url}/users/sign_in/saml")
    expect(by_testid(page, "nameid")).to_have_text("bob@example.com")

    page.goto(f"{stack.base_url}/")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(f"{stack.base_url}/login?signed_out=1")
    expect(page.locator("main")).to_contain_text("You have signed out.")
    screenshot(page, "signed_out")
    assert not any(c["name"] == "__Host-idp_session" for c in page.context.cookies())

    # The IdP session is gone: the SSO URL asks for a password again, the portal too.
    page.goto(f"{stack.base_url}/saml2/{APP}")
    page.wait_for_url(f"{stack.base_url}/login?state=*")
    expect(page.get_by_label("Password")).to_be_visible()
    expect(page.locator("main")).to_contain_text("to continue to OfficeSpace")
    page.goto(f"{stack.base_url}/")
    page.wait_for_url(f"{stack.base_url}/login")


def test_single_logout_from_the_standin_ends_both_sessions(stack, page):
    page.goto(f"{stack.base_url}/saml2/{APP}")  # IdP-initiated: log in, then straight to the SP
    page.wait_for_url(f"{stack.base_url}/login?state=*")
    fill_login(page, ALICE)
    page.wait_for_url(f"{stack.standin_url}/users/sign_in/saml")
    expect(by_testid(page, "nameid")).to_have_text("alice@example.com")

    by_testid(page, "slo-button").click()
    # A LogoutRequest to our /saml2/officespace/slo; the IdP ends its session and answers with a signed
    # LogoutResponse to the demo app's SP SLO URL, where the stand-in confirms the single logout.
    page.wait_for_url(f"{stack.standin_url}/saml/slo?*")
    expect(by_testid(page, "signed-out")).to_contain_text("The IdP confirmed the single logout")
    screenshot(page, "single_logout")
    assert not any(c["name"] == "__Host-idp_session" for c in page.context.cookies())

    page.goto(f"{stack.standin_url}/")
    expect(by_testid(page, "sign-in-button")).to_be_visible()  # the stand-in's session is gone too
    page.goto(f"{stack.base_url}/saml2/{APP}")
    page.wait_for_url(f"{stack.base_url}/login?state=*")
    expect(page.get_by_label("Password")).to_be_visible()
