"""Fixtures of the integration tests that drive the deployed functions' handlers."""
from __future__ import annotations

import json

import pytest

from idp_local.stack import load_function, repo_root
from idp_testing.console_client import ADMIN, PLAIN, Browser
from idp_testing.lambda_events import LambdaContext, http_event


@pytest.fixture
def admin_handler(aws_env):
    """call(method, path, body=None, status=None) -> the JSON answer of the admin function's Lambda handler (an API
    Gateway v2 event, as deployed), asserting the status when one is given."""
    handler = load_function(repo_root(), "admin_api")

    def call(method, path, body=None, status=None):
        answer = handler(http_event(method, path, body), LambdaContext())
        if status is not None:
            assert answer["statusCode"] == status, (method, path, answer["body"])
        return json.loads(answer["body"]) if answer.get("body") else None

    return call


@pytest.fixture
def env(aws_env, monkeypatch):
    """The SAML world of the login function (idp_testing.lambda_client.saml_world): its resolver and container from
    Settings, Ada bound to "officespace", the app's python3-saml SP."""
    from idp import bootstrap
    from idp_testing.lambda_client import saml_world

    yield saml_world(monkeypatch)
    bootstrap.reset()


# ---------------------------------------------------------------------------- the console (and the audit of its changes)

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
