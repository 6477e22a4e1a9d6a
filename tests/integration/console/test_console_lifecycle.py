"""Issue 26 item 6: a user's console page has "Send activation email" and "Send password reset email" (POST forms
with the console's CSRF token) and says what was sent; the email's link sets the password; the sends are audited
as the signed-in administrator's, and a suspended user's page offers neither."""
from __future__ import annotations

import json
import re

import pytest

from idp import bootstrap

NEW = "Violet-Harbor-Lantern-42"


@pytest.fixture
def mailbox(aws_env, monkeypatch):
    """The container as a function builds it from the settings, with the local stack's mailbox as its mailer."""
    from idp.settings import Settings
    from idp_local.mailbox import LocalMailbox

    monkeypatch.setenv("PUBLIC_BASE_URL", "https://sso.example.org")
    box = LocalMailbox()
    bootstrap.use(bootstrap.Container(Settings.load(), mailer=box))
    yield box
    bootstrap.reset()


def _to(mailbox, address: str) -> list[dict]:
    return [m for m in mailbox.messages() if address in m["to"]]


def _button(page, action: str, label: str) -> str:
    """The CSRF token of the one-button form posting to ``action`` whose button reads ``label``."""
    form = re.search(rf'<form[^>]+action="{re.escape(action)}">(.*?)</form>', page.body, re.S)
    assert form and f">{label}</button>" in form.group(1), page.body[:3000]
    return page.hidden("csrf", action)


def test_the_user_page_sends_activation_and_reset_emails(mailbox, admin_browser, people):
    from idp.web.password_routes import router as password_router
    from idp.web.resolver import lambda_app
    from idp_testing.console_client import Browser

    uid, admin_id = people["plain"]["id"], people["admin"]["id"]
    page = admin_browser.get(f"/console/users/{uid}")
    csrf = _button(page, f"/console/users/{uid}/send-activation", "Send activation email")
    assert admin_browser.post(f"/console/users/{uid}/send-activation", {}).status == 403  # no CSRF token, no email
    assert _to(mailbox, "pat@example.com") == []
    done = admin_browser.post(f"/console/users/{uid}/send-activation", {"csrf": csrf})
    assert done.status == 303
    assert "Activation email sent" in admin_browser.get(done.location).text
    (activation,) = _to(mailbox, "pat@example.com")
    assert activation["to"] == ["pat@example.com"] and activation["subject"].startswith("Activate")

    csrf = _button(admin_browser.get(f"/console/users/{uid}"), f"/console/users/{uid}/send-reset", "Send password reset email")
    done = admin_browser.post(f"/console/users/{uid}/send-reset", {"csrf": csrf})
    assert "Password reset email sent" in admin_browser.get(done.location).text
    reset = _to(mailbox, "pat@example.com")[0]
    assert reset["subject"].startswith("Reset") and "30 minutes" in reset["text"]

    # the reset email's link sets the password (its form POSTs to the admin function's route)
    link = re.search(r"https://sso\.example\.org(/password/set\?token=(\S+))", reset["text"])
    browser = Browser(lambda_app(password_router))
    set_page = browser.post("/password/set", {"token": link.group(2), "password": NEW, "password_confirm": NEW})
    assert set_page.status == 200 and "Your password is set" in set_page.text

    from idp.web.audit_routes import router as audit_router
    from idp_testing.lambda_events import LambdaContext, http_event

    out = lambda_app(audit_router).resolve(http_event("GET", "/admin/events", query={"type": "password", "user_id": uid}),
                                           LambdaContext())
    events = json.loads(out["body"])["items"]
    by_reason = {e["reason"]: e for e in events}
    assert by_reason["activation_sent"]["actor"] == {"type": "admin", "id": admin_id}
    assert by_reason["reset_requested"]["actor"] == {"type": "admin", "id": admin_id}
    assert by_reason["reset"]["actor"] == {"type": "user", "id": uid}


def test_a_suspended_users_page_offers_no_link(mailbox, admin_browser, people):
    uid = people["plain"]["id"]
    csrf = admin_browser.get(f"/console/users/{uid}").hidden("csrf", f"/console/users/{uid}/suspend")
    assert admin_browser.post(f"/console/users/{uid}/suspend", {"csrf": csrf}).status == 303
    page = admin_browser.get(f"/console/users/{uid}")
    assert "Send activation email" not in page.body and "Send password reset email" not in page.body
    refused = admin_browser.post(f"/console/users/{uid}/send-reset", {"csrf": csrf})
    assert refused.status == 409 and _to(mailbox, "pat@example.com") == []
