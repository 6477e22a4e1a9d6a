"""The password lifecycle's tests over HTTP (contract section 9): the world (the login and admin functions' routes on
moto, the local mailbox as the mailer, a fake clock), and the steps: the emails, their links, the forms, "Forgot
password?", the `password` audit events."""
from __future__ import annotations

import re
import time
from urllib.parse import urlsplit

from idp import bootstrap
from idp_testing.lambda_client import PASSWORD, LambdaClient, admin_caller
from idp_testing.mfa_http import password_step

BASE = "https://sso.example.org"  # the configured public base URL; requests come to idp.example.com
NEW = "Violet-Harbor-Lantern-42"
OTHER = "Amber-Meadow-Compass-77"
LINK = re.compile(r"(https?://[^\s/]+)/password/set\?token=([A-Za-z0-9._-]+)")


class Clock:
    """Time that moves a millisecond each time it is read (as real time does between two requests), and jumps."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        self.now += 0.001
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class World:
    pass


def lifecycle_world(monkeypatch) -> World:
    """The container built from the settings as a function builds it (PUBLIC_BASE_URL = BASE), with the local mailbox
    as its mailer and a fake clock; the browser's routes as the local stack mounts them, the admin API, and Ada. The
    caller resets the container afterwards (bootstrap.reset())."""
    from idp.settings import Settings
    from idp.web.account_password_routes import router as account_password_router
    from idp.web.admin_routes import router as admin_router
    from idp.web.audit_routes import router as audit_router
    from idp.web.metadata_routes import metadata_router
    from idp.web.mfa_routes import router as mfa_router
    from idp.web.password_routes import router as password_router
    from idp.web.resolver import lambda_app
    from idp.web.saml_routes import login_router
    from idp_local.mailbox import LocalMailbox

    monkeypatch.setenv("PUBLIC_BASE_URL", BASE)
    w = World()
    w.mailbox, w.clock = LocalMailbox(), Clock()
    w.container = bootstrap.use(bootstrap.Container(Settings.load(), mailer=w.mailbox, clock=w.clock))
    # the browser's routes as the local stack mounts them: the forms (login function), their POSTs (admin function)
    w.resolver = lambda_app(metadata_router, login_router, account_password_router, password_router)
    admin = admin_caller(admin_router, mfa_router, audit_router)

    w.admin = admin
    w.user = w.container.directory.create_user({"username": "ada", "email": "ada@example.com", "firstname": "Ada",
                                                "lastname": "Lovelace", "password": PASSWORD})
    return w


# ---------------------------------------------------------------------------- helpers


def mails(w: World, to: str | None = None) -> list[dict]:
    """The messages kept by the local mailbox (newest first), to ``to`` when given."""
    return [m for m in w.mailbox.messages() if to is None or to in m["to"]]


def link_in(message: dict) -> str:
    """The link of an activation or reset email (path and query), after checking it starts at the configured base URL."""
    found = LINK.search(message["text"])
    assert found, message["text"]
    assert found.group(1) == BASE, found.group(0)
    assert message.get("html") and found.group(0) in message["html"]
    return found.group(0)[len(BASE):]


def token_of(path: str) -> str:
    return path.split("token=", 1)[1]


def open_form(c: LambdaClient, path: str):
    parts = urlsplit(path)
    return c.request("GET", parts.path, parts.query)


def submit(c: LambdaClient, path: str, password: str = NEW, confirm: str | None = None):
    return c.request("POST", "/password/set", form={"token": token_of(path), "password": password,
                                                    "password_confirm": password if confirm is None else confirm})


def forgot(c: LambdaClient, login: str):
    return c.request("POST", "/password/forgot", form={"login": login})


def reset_link(w: World, login: str = "ada") -> str:
    before = len(mails(w))
    assert forgot(LambdaClient(w.resolver), login).status == 200
    assert len(mails(w)) == before + 1
    return link_in(mails(w)[0])


def sign_in(w: World, username: str, password: str):
    c = LambdaClient(w.resolver)
    return c, password_step(c, c.request("GET", "/login"), username=username, password=password)


def password_events(w: World, uid: str) -> list[dict]:
    status, page = w.admin("GET", "/admin/events", query={"type": "password", "user_id": uid, "limit": "100"})
    assert status == 200, page
    return page["items"]


def new_user(w: World, **extra) -> dict:
    body = {"username": "grace", "email": "grace@example.com", "firstname": "Grace", "lastname": "Hopper", **extra}
    status, user = w.admin("POST", "/admin/users", body)
    assert status == 201, user
    return user
