"""The routes of the SamlLoginFunction (contract section 3) in one table, ``login_router``: each
route reads its WebRequest once (under the guard, so even a bad body is a page) and hands it to
its handler in sso_routes, login_routes, portal_routes or slo_routes. The metadata routes are the
SamlMetadataFunction's own router, in metadata_routes."""
from __future__ import annotations

from aws_lambda_powertools.event_handler.api_gateway import Router

from idp.web import login_routes, portal_routes, slo_routes, sso_routes
from idp.web.pages import guard
from idp.web.request import current_request

login_router = Router()


def _request():
    return current_request(login_router)


@login_router.route("/saml2/<slug>", method=["GET", "POST"])
@guard
def sso(slug: str):
    return sso_routes.sso(slug, _request())


@login_router.route("/saml2/<slug>/slo", method=["GET", "POST"])
@guard
def slo(slug: str):
    return slo_routes.slo(slug, _request())


@login_router.get("/login")
@guard
def login_get():
    return login_routes.login_get(_request())


@login_router.post("/login")
@guard
def login_post():
    return login_routes.login_post(_request())


@login_router.post("/logout")
@guard
def logout_post():
    return login_routes.logout_post(_request())


@login_router.get("/")
@guard
def portal():
    return portal_routes.portal(_request())
