"""The routes of the SamlLoginFunction (contract section 3) in one table, ``login_router``: each
route reads its WebRequest once (under the guard, so even a bad body is a page) and hands it to
its handler in sso_routes, login_routes, portal_routes or slo_routes. The metadata routes are the
SamlMetadataFunction's own router, in metadata_routes."""
from __future__ import annotations

from aws_lambda_powertools.event_handler.api_gateway import Router

from idp.web import account_routes, login_routes, passkey_routes, password_pages, portal_routes, slo_routes, sso_routes
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


# ---------- the password lifecycle's forms (contract section 9; their POSTs: web/password_routes) ----------
@login_router.get("/password/forgot")
@guard
def password_forgot():
    return password_pages.forgot_form(_request())


@login_router.get("/password/set")
@guard
def password_set():
    return password_pages.set_form(_request())


# ---------- the account page and passkeys (contract section 7) ----------
@login_router.get("/account")
@guard
def account():
    return account_routes.account(_request())


@login_router.get("/account/setup")
@guard
def account_setup():
    return account_routes.account(_request())


@login_router.post("/account/totp")
@guard
def account_totp():
    return account_routes.totp_begin(_request())


@login_router.post("/account/totp/confirm")
@guard
def account_totp_confirm():
    return account_routes.totp_confirm(_request())


@login_router.post("/account/recovery")
@guard
def account_recovery():
    return account_routes.recovery_regenerate(_request())


@login_router.post("/account/factors/<fid>/rename")
@guard
def account_factor_rename(fid: str):
    return account_routes.factor_rename(_request(), fid)


@login_router.post("/account/factors/<fid>/remove")
@guard
def account_factor_remove(fid: str):
    return account_routes.factor_remove(_request(), fid)


@login_router.post("/account/resume")
@guard
def account_resume():
    return account_routes.resume(_request())


@login_router.post("/account/passkeys/options")
@guard
def passkey_registration_options():
    return passkey_routes.registration_options(_request())


@login_router.post("/account/passkeys")
@guard
def passkey_register():
    return passkey_routes.register(_request())


@login_router.post("/login/passkey/options")
@guard
def passkey_login_options():
    return passkey_routes.authentication_options(_request())


@login_router.post("/login/passkey")
@guard
def passkey_login():
    return passkey_routes.authenticate(_request())


@login_router.get("/static/webauthn.js")
@guard
def webauthn_js():
    return passkey_routes.script()
