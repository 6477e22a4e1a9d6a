"""SP-initiated Single Logout, GET|POST /saml2/<slug>/slo (contract section 3): reads the app's
LogoutRequest (Redirect or POST binding; signed when the app holds an SP certificate; each ID once),
ends the browser's IdP session only when its NameID and SessionIndex name that session (so a
cross-site page cannot sign anyone out), and answers with a signed LogoutResponse to the app's
``sp_slo_url`` (in the binding the request came in) whose status says whether a session ended, or,
when the app has none, with a page that says so."""
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
from idp.signon.audit_trail import logout_event
from idp.signon.service import LogoutResult
from idp.web import saml_app
from idp.web.forms import POST_FORM_CSP, render, render_post_form
from idp.web.pages import error_page, html, redirect, unknown_app
from idp.web.request import WebRequest
from idp.web.session_cookies import SESSION, clear, session_id

log = Logger(child=True)

# The LogoutResponse status when no session ended: the request named another session (Requester), or
# this browser has none (Responder).
_STATUS = {"ended": C.STATUS_SUCCESS, "no_session": C.STATUS_RESPONDER}


def _read_logout_request(app: dict, request: WebRequest, urls: dict) -> LogoutRequest:
    binding = saml_app.inbound_binding(request)
    sp = saml_app.sp_policy(app, (urls["slo_url"], urls["sso_url"]))
    seen = container().signon.replay_check(app["slug"], kind="logout")
    if binding == C.BINDING_REDIRECT:
        return parse_logout_redirect(request.raw_query, sp, seen=seen)
    if binding == C.BINDING_POST:
        return parse_logout_post(request.form, sp, seen=seen)
    raise SamlRequestError("malformed", "expected a LogoutRequest (SAMLRequest parameter)")


def _page(app: dict, result: LogoutResult, cookies: list) -> Response:
    label = app.get("label") or app["slug"]
    if result.ended:
        body = render("signed_out.html", message=f"You have been signed out of this identity provider "
                      f"(requested by {label}).", login_url="/login")
        return html(200, body, cookies=cookies)
    return error_page(400, result.code, "Session not ended",
                      f"{label} asked to end a session of this identity provider, but none was ended: {result.message}.",
                      cause=f"app={app['slug']} {result.code}", home=True, app=app["slug"])


def slo(slug: str, request: WebRequest) -> Response:
    """GET|POST /saml2/<slug>/slo."""
    app = container().store.get_app(slug)
    if not app:
        return unknown_app(slug)
    urls = saml_app.urls(slug, request)
    try:
        req = _read_logout_request(app, request, urls)
    except SamlRequestError as exc:
        container().audit.record(logout_event(None, app=slug, slo=True, reason=exc.code, ip=request.client_ip,
                                              user_agent=request.headers.get("user-agent")))
        log.warning("logout request refused app=%s code=%s ip=%s cause=%s", slug, exc.code, request.client_ip, exc.message,
                    extra={"app": slug})
        return error_page(exc.status, exc.code, "This sign-out request cannot be processed", exc.message,
                          cause=f"app={slug} {exc.code}", app=slug)

    signon = container().signon
    current = signon.signed_in(session_id(request))
    result = signon.single_logout(current, app, req.nameid, req.session_indexes, ip=request.client_ip,
                                  user_agent=request.headers.get("user-agent"))
    log.info("logout request app=%s request_id=%s signed=%s outcome=%s", slug, req.id, req.signed, result.code,
             extra={"app": slug, "user_id": current.uid if current else None})
    cookies = [clear(SESSION)] if result.ended else []
    slo_url = app.get("sp_slo_url")
    if not slo_url:
        return _page(app, result, cookies)
    key = saml_app.signing_key(app)
    status = _STATUS.get(result.code, C.STATUS_REQUESTER)
    message = None if result.ended else result.message
    if req.binding == C.BINDING_REDIRECT:
        url = build_logout_response_redirect_url(idp_entity_id=urls["idp_entity_id"], destination=slo_url,
                                                 in_response_to=req.id, key=key, relay_state=req.relay_state,
                                                 status_code=status, message=message)
        return redirect(url, cookies)
    b64 = build_logout_response(idp_entity_id=urls["idp_entity_id"], destination=slo_url, in_response_to=req.id, key=key,
                                status_code=status, message=message)
    return html(200, render_post_form(slo_url, b64, req.relay_state), cookies=cookies, csp=POST_FORM_CSP)
