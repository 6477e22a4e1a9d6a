"""The console's routes in one Lambda resolver (with the login routes the sign-in goes through), an
administrator and a plain user in the directory, and a browser for each."""
from __future__ import annotations

import pytest
from tests.integration.console.console_client import Browser

ADMIN = {"username": "root", "email": "root@example.com", "firstname": "Ro", "lastname": "Ot",
         "password": "summit-console-Pass1", "roles": ["admin"]}
PLAIN = {"username": "pat", "email": "pat@example.com", "firstname": "Pat", "lastname": "Plain",
         "password": "pat-console-Pass1"}


@pytest.fixture(params=["console function", "beside the admin API"])
def app(aws_env, request):
    """The console function's resolver; and one that also mounts the typed admin routes (powertools then
    validates every route's parameters, as in the local stack's one resolver)."""
    from idp.web.admin_api import admin_routers
    from idp.web.console import console_router
    from idp.web.resolver import lambda_app
    from idp.web.saml_routes import login_router

    if request.param == "console function":
        return lambda_app(login_router, console_router)
    return lambda_app(*admin_routers(), login_router, console_router)


@pytest.fixture
def people(app):
    from idp.bootstrap import container

    directory = container().directory
    return {"admin": directory.create_user(ADMIN), "plain": directory.create_user(PLAIN)}


@pytest.fixture
def admin_browser(app, people) -> Browser:
    """The administrator, signed in to the console: the password, then (an administrator's first console visit,
    whatever the MFA policy) an authenticator app enrolled, then back to the console."""
    browser = Browser(app)
    answer = browser.login(ADMIN["username"], ADMIN["password"], start="/console")
    assert answer.status == 302 and answer.location == "/console", answer.body
    enrol = browser.get("/console")
    assert enrol.status == 302 and enrol.location.startswith("/account/setup?resume="), (enrol.status, enrol.location)
    back = browser.enrol_totp(enrol.location)
    assert back.status == 302 and back.location == "/console", (back.status, back.location, back.body[:300])
    return browser


@pytest.fixture
def plain_browser(app, people) -> Browser:
    browser = Browser(app)
    assert browser.login(PLAIN["username"], PLAIN["password"]).status == 302
    return browser
