"""The MFA tests' world and steps over HTTP (the login function's resolver on moto, python3-saml as the strict SP):
an app ``open`` bound to Ada, the admin API, and the login's steps (password, code), TOTP enrolment on /account,
the MFA policy and a code a step ahead."""
from __future__ import annotations

import re
import time

from idp import bootstrap
from idp.saml import constants as C
from idp.signon.mfa import totp
from idp_testing.lambda_client import PASSWORD, LambdaClient, admin_caller
from idp_testing.saml_browser import parse_inputs, parse_post_form
from idp_testing.saml_sp import authn_request_xml, redirect_query, sp_accepts, sp_settings
from idp_testing.soft_authenticator import SoftAuthenticator

PPT, MFA = C.AC_PASSWORD_PROTECTED_TRANSPORT, C.AC_REFEDS_MFA
ACS = "https://open.example.com/acs"
SESSION = "__Host-idp_session"
ASK_MFA = ('<samlp:RequestedAuthnContext Comparison="exact"><saml:AuthnContextClassRef>https://refeds.org/profile/mfa'
           '</saml:AuthnContextClassRef></samlp:RequestedAuthnContext>')


class World:
    pass


def mfa_world(env) -> World:
    """``env`` (idp_testing.lambda_client.saml_world) plus an app ``open`` (unsigned requests) bound to ada, and the admin API (users, apps, MFA)."""
    from idp.web.admin_routes import router as admin_router
    from idp.web.mfa_routes import router as mfa_router

    admin = admin_caller(admin_router, mfa_router)
    w = World()
    w.env, w.user, w.resolver = env, env.user, env.resolver

    w.admin = admin
    w.app = bootstrap.container().apps.create({"slug": "open", "label": "Open", "template": "officespace",
                                               "sp_entity_id": "open.example.com", "acs_urls": [ACS]})
    bootstrap.container().directory.bind_user("open", w.user["id"], bind=True)
    w.sp = sp_settings(w.app["signing_keys"][0]["certificate_pem"], sp_entity_id="open.example.com", acs_url=ACS,
                       idp_entity_id="https://idp.example.com/saml2/open", sso_url="https://idp.example.com/saml2/open")
    return w


# ---------------------------------------------------------------------------- helpers

_n = iter(range(10**6))


def sso(c: LambdaClient, *, force_authn=False, is_passive=False, body_extra="", follow=True):
    """An SP-initiated AuthnRequest of app ``open``; returns (request id, the IdP's answer)."""
    req_id = f"_mfa{next(_n)}"
    xml = authn_request_xml(req_id=req_id, issuer="open.example.com", acs_url=ACS, destination="https://idp.example.com/saml2/open",
                            force_authn=force_authn, is_passive=is_passive, body_extra=body_extra)
    return req_id, c.request("GET", "/saml2/open", raw_query=redirect_query(xml), follow=follow)


def password_step(c: LambdaClient, page, username="ada", password=PASSWORD):
    fields = parse_inputs(page.text)
    assert "login" in fields and "csrf" in fields, page.text[:400]
    fields.update(username=username, password=password)
    return c.request("POST", "/login", form=fields)


def code_step(c: LambdaClient, page, code: str):
    fields = parse_inputs(page.text)
    assert "code" in fields and "username" not in fields, page.text[:400]  # the second step asks for the factor only
    fields["code"] = code
    return c.request("POST", "/login", form=fields)


def context_of(w: World, page, request_id: str | None) -> str:
    """The strict SP accepts the Response; its AuthnContextClassRef."""
    form = parse_post_form(page.text)
    assert form is not None and form.saml_response and form.action == ACS, (page.status, page.text[:400])
    (ctx,) = sp_accepts(w.sp, form.saml_response, request_id, acs_url=ACS).get_authn_contexts()
    return ctx


def no_response(page) -> bool:
    return parse_post_form(page.text) is None


def signed_in(w: World) -> LambdaClient:
    c = LambdaClient(w.resolver)
    r = password_step(c, c.request("GET", "/login"))
    assert r.status == 200 and r.path == "/", (r.status, r.path, r.text[:300])
    return c


def enrol_totp(c: LambdaClient) -> tuple[str, list[str]]:
    """Set up an authenticator app on /account; returns (its secret, the recovery codes shown once)."""
    page = c.request("GET", "/account")
    assert page.status == 200 and "Set up authenticator app" in page.text, page.text[:300]
    csrf = parse_inputs(page.text)["csrf"]
    setup = c.request("POST", "/account/totp", form={"csrf": csrf})
    secret = re.search(r'data-testid="setup-key">([A-Z2-7]+)<', setup.text).group(1)
    assert 'src="data:image/svg+xml' in setup.text  # the QR code, generated server-side
    fields = parse_inputs(setup.text)
    bad = c.request("POST", "/account/totp/confirm", form={**fields, "code": "000000" if totp.code_at(secret, time.time()) != "000000" else "111111"})
    assert bad.status == 401
    done = c.request("POST", "/account/totp/confirm", form={**fields, "code": totp.code_at(secret, time.time())})
    assert done.status == 200 and "Authenticator app added" in done.text, done.text[:400]
    codes = re.findall(r"<li><code>([a-z0-9-]{19})</code></li>", done.text)
    return secret, codes


def set_policy(w: World, **body):
    status, view = w.admin("PUT", "/admin/mfa", body)
    assert status == 200, view
    return view


def next_code(secret: str, steps_ahead: int = 1) -> str:
    """A code one step ahead (inside the drift window): a login after one that used this step's code."""
    return totp.code_at(secret, time.time() + 30 * steps_ahead)


# ---------------------------------------------------------------------------- passkeys

ORIGIN = "https://idp.example.com"


def register(c: LambdaClient, auth: SoftAuthenticator, name="Laptop"):
    page = c.request("GET", "/account")
    form = parse_inputs(page.text.split('data-webauthn="register"', 1)[1])
    options = c.request("POST", "/account/passkeys/options", form={"csrf": form["csrf"]})
    assert options.status == 200 and options.headers["content-type"].startswith("application/json"), options.text
    return c.request("POST", "/account/passkeys", form={"csrf": form["csrf"], "name": name,
                                                        "credential": auth.create(options.text)})


def passkey_step(c: LambdaClient, page, auth: SoftAuthenticator, **get_kw):
    """The login page's passkey form: options, the authenticator's answer, the POST."""
    form = parse_inputs(page.text.split('data-webauthn="authenticate"', 1)[1])
    options = c.request("POST", "/login/passkey/options", form={"login": form["login"], "csrf": form["csrf"]})
    assert options.status == 200, options.text
    return c.request("POST", "/login/passkey", form={**form, "credential": auth.get(options.text, **get_kw)})


# ---------------------------------------------------------------------------- the password change

NEW = "A-new-Passw0rd-2026"


def with_password_route(w: World) -> None:
    """The resolver of the local stack: the account page's password change beside the login function's routes."""
    from idp.web.account_password_routes import router as account_password_router
    from idp.web.metadata_routes import metadata_router
    from idp.web.resolver import lambda_app
    from idp.web.saml_routes import login_router

    w.resolver = lambda_app(metadata_router, login_router, account_password_router)


def change_password(c: LambdaClient, csrf: str, current: str, new: str = NEW):
    return c.request("POST", "/account/password", form={"csrf": csrf, "current_password": current, "new_password": new})
