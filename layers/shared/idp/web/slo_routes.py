"""SP-initiated Single Logout, GET|POST /saml2/<slug>/slo (contract section 3): reads the app's
LogoutRequest (Redirect or POST binding), ends the browser's IdP session when the NameID is the
user's, and answers with a signed LogoutResponse to the app's ``sp_slo_url`` (in the binding the
request came in), or, when the app has none, with a "signed out" page."""
from __future__ import annotations

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response

from idp.bootstrap import container
from idp.saml import constants as C
from idp.saml.errors import SamlRequestError
from idp.saml.logout import (
    LogoutRequest,
    build_logout_response,
    build_logout_response_redirect_url,
    parse_logout_post,
    parse_logout_redirect,
)
from idp.web import saml_app
from idp.web.forms import POST_FORM_CSP, render, render_post_form
from idp.web.pages import error_page, html, redirect, unknown_app
from idp.web.request import WebRequest
from idp.web.session_cookies import SESSION_COOKIE, clear
from idp.web.sso_routes import query_names

log = Logger(child=True)


def _read_logout_request(app: dict, request: WebRequest, urls: dict) -> LogoutRequest:
    sp = saml_app.sp_policy(app, (urls["slo_url"], urls["sso_url"]))
    if request.method == "GET" and "SAMLRequest" in query_names(request.raw_query):
        return parse_logout_redirect(request.raw_query, sp)
    if request.method == "POST" and "SAMLRequest" in request.form:
        return parse_logout_post(request.form, sp)
    raise SamlRequestError("malformed", "expected a LogoutRequest (SAMLRequest parameter)")


def slo(slug: str, request: WebRequest) -> Response:
    """GET|POST /saml2/<slug>/slo."""
    app = container().store.get_app(slug)
    if not app:
        return unknown_app(slug)
    urls = saml_app.urls(slug, request)
    try:
        req = _read_logout_request(app, request, urls)
    except SamlRequestError as exc:
        log.warning("logout request refused app=%s code=%s ip=%s cause=%s", slug, exc.code, request.client_ip, exc.message,
                    extra={"app": slug})
        return error_page(exc.status, exc.code, "This sign-out request cannot be processed", exc.message,
                          cause=f"app={slug} {exc.code}", app=slug)

    signon = container().signon
    current = signon.signed_in(request.cookies.get(SESSION_COOKIE))
    ended = signon.single_logout(current, app, req.nameid)
    log.info("logout request app=%s request_id=%s session_ended=%s", slug, req.id, ended,
             extra={"app": slug, "user_id": current.uid if current else None})
    cookies = [clear(SESSION_COOKIE)] if ended else []
    slo_url = app.get("sp_slo_url")
    if not slo_url:
        body = render("signed_out.html", message=f"You have been signed out of this identity provider "
                      f"(requested by {app.get('label') or slug}).", login_url="/login")
        return html(200, body, cookies=cookies)
    key = saml_app.signing_key(app)
    if req.binding == C.BINDING_REDIRECT:
        url = build_logout_response_redirect_url(idp_entity_id=urls["idp_entity_id"], destination=slo_url,
                                                 in_response_to=req.id, key=key, relay_state=req.relay_state)
        return redirect(url, cookies)
    b64 = build_logout_response(idp_entity_id=urls["idp_entity_id"], destination=slo_url, in_response_to=req.id, key=key)
    return html(200, render_post_form(slo_url, b64, req.relay_state), cookies=cookies, csp=POST_FORM_CSP)
