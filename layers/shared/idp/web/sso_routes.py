"""The SSO URL, GET|POST /saml2/<slug> (contract section 3): reads an AuthnRequest (Redirect or POST
binding) or starts IdP-initiated SSO, then answers from the live session, answers in SAML what
cannot be given (InvalidNameIDPolicy, NoAuthnContext; for IsPassive NoPassive or RequestDenied), or
sends the browser to the login page, which resumes here (``issue``) once the user is signed in."""
from __future__ import annotations

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.shared.cookies import Cookie

from idp.bootstrap import container
from idp.saml import constants as C
from idp.saml.authn_request import AuthnRequest, parse_post, parse_redirect, peek_issuer
from idp.saml.errors import SamlRequestError
from idp.saml.response import build_response, build_status_response
from idp.signon.assertion import response_params
from idp.signon.mfa.policy import Need
from idp.signon.models import PendingSignOn, Session
from idp.signon.sso import (
    NOT_SIGNED_IN_PASSIVE,
    Denied,
    SamlStatus,
    Step,
    mfa_requested,
    mfa_status,
    next_step,
    passive_denied,
    unsatisfiable,
)
from idp.web import mfa_gate, saml_app
from idp.web.forms import POST_FORM_CSP, render_post_form
from idp.web.login_redirect import to_login
from idp.web.pages import error_page, html, unknown_app
from idp.web.request import WebRequest
from idp.web.session_cookies import session_id
from idp.web.sso_audit import issued as audit_issued
from idp.web.sso_audit import refused as audit_refused
from idp.web.sso_audit import status_answered as audit_status

log = Logger(child=True)


def _denied(app: dict, denied: Denied, user: dict, cookies: list[Cookie]) -> Response:
    slug, label, uid = app["slug"], app.get("label") or app["slug"], user.get("id")
    if denied.code == "user_suspended":
        return error_page(403, "user_suspended", "Account suspended",
                          "Your account is suspended, so you cannot sign in. Contact your administrator.",
                          cause=denied.cause, cookies=cookies, app=slug, user_id=uid)
    if denied.code == "access_denied":
        return error_page(403, "access_denied", f"No access to {label}",
                          f"You are not allowed to use {label}. Ask an administrator to give you access.",
                          cause=denied.cause, cookies=cookies, home=True, app=slug, user_id=uid)
    return error_page(400, denied.code, "This sign-in request cannot be processed",
                      "The application's ACS URL is no longer registered.", cause=denied.cause, cookies=cookies,
                      app=slug, user_id=uid)


def issue(app: dict, user: dict, session: Session, pending: PendingSignOn, request: WebRequest,
          cookies: list[Cookie], *, passive: bool = False) -> Response:
    """Answer the SP (or start IdP-initiated SSO) for a signed-in user: access check, then the auto-POST form;
    a refusal is a page, or for an IsPassive request a RequestDenied Response (the SP asked for no page). A
    ForceAuthn request is answered only by a session that authenticated since it arrived, whatever page resumes
    it: an older session goes to the login form (password, then the factor where one applies)."""
    if not pending.fresh_enough(session.auth_instant):
        log.warning("forceauthn request resumed with an older session app=%s user=%s request_id=%s: login again",
                    app["slug"], user.get("id"), pending.request_id, extra={"app": app["slug"], "user_id": user.get("id")})
        return to_login(request, pending)
    grant = container().signon.authorize(app, user, pending)
    if isinstance(grant, Denied):
        audit_refused(request, app["slug"], grant.code, user_id=user.get("id"), pending=pending)
        status = passive_denied(grant) if passive and pending.sp_initiated else None
        if status is not None:
            log.info("passive request refused app=%s user=%s reason=%s", app["slug"], user.get("id"), grant.code,
                     extra={"app": app["slug"], "user_id": user.get("id")})
            return status_answer(app, pending.acs_url, pending.request_id, pending.relay_state, status, request, cookies,
                                 audited=True)
        return _denied(app, grant, user, cookies)
    need = container().signon.mfa_gate(user, session, pending)
    if need is not Need.NONE:  # no Response without the second factor this sign-in needs
        status = mfa_status(need, pending, passive=passive)
        if status is not None and pending.sp_initiated:
            return status_answer(app, pending.acs_url, pending.request_id, pending.relay_state, status, request, cookies,
                                 user_id=user["id"])
        return mfa_gate.interrupt(need, user, session, pending, request, cookies)
    slug = app["slug"]
    params = response_params(app, user, session, idp_entity_id=saml_app.urls(slug, request)["idp_entity_id"],
                             acs_url=grant.acs_url, in_response_to=grant.in_response_to)
    saml_response = build_response(params, saml_app.signing_key(app))
    log.info("saml response issued app=%s user=%s acs=%s sp_initiated=%s request_id=%s",
             slug, user["id"], grant.acs_url, pending.sp_initiated, pending.request_id,
             extra={"app": slug, "user_id": user["id"]})
    audit_issued(request, slug, user["id"], grant.acs_url, pending)
    return html(200, render_post_form(grant.acs_url, saml_response, grant.relay_state), cookies=cookies, csp=POST_FORM_CSP)


def status_answer(app: dict, acs_url: str, in_response_to: str | None, relay_state: str | None, status: SamlStatus,
                  request: WebRequest, cookies: list[Cookie] | None = None, *, user_id: str | None = None,
                  audited: bool = False) -> Response:
    """A signed Response without an assertion, carrying ``status``, auto-POSTed to the (checked) ACS URL (and an
    sso audit event, unless the refusal was ``audited`` already)."""
    saml_response = build_status_response(
        idp_entity_id=saml_app.urls(app["slug"], request)["idp_entity_id"], acs_url=acs_url, in_response_to=in_response_to,
        status_code=status.code, sub_status_code=status.sub_code, message=status.message, key=saml_app.signing_key(app),
    )
    if not audited:
        audit_status(request, app["slug"], status, in_response_to, acs_url, user_id=user_id)
    log.info("saml status answered app=%s request_id=%s status=%s", app["slug"], in_response_to,
             status.sub_code.rsplit(":", 1)[-1], extra={"app": app["slug"]})
    return html(200, render_post_form(acs_url, saml_response, relay_state), cookies=cookies, csp=POST_FORM_CSP)


def _read_authn_request(app: dict, request: WebRequest) -> AuthnRequest | None:
    """The request's AuthnRequest, checked against the app; None when there is none (IdP-initiated)."""
    binding = saml_app.inbound_binding(request)
    if binding is None:
        return None
    slug = app["slug"]
    sp = saml_app.sp_policy(app, (saml_app.urls(slug, request)["sso_url"],))
    seen = container().signon.replay_check(slug)
    if binding == C.BINDING_REDIRECT:
        return parse_redirect(request.raw_query, sp, seen=seen)
    return parse_post(request.form, sp, seen=seen)


def sso(slug: str, request: WebRequest) -> Response:
    """GET|POST /saml2/<slug>: what it reads of the app, the session and its user comes in two batches."""
    with container().sso_reads(slug, session_id(request)):
        return _sso(slug, request)


def _sso(slug: str, request: WebRequest) -> Response:
    app = container().store.get_app(slug)
    if not app:
        audit_refused(request, slug, "unknown_sp")
        return unknown_app(slug)
    try:
        req = _read_authn_request(app, request)
    except SamlRequestError as exc:
        issuer = peek_issuer(raw_query=request.raw_query) if request.method == "GET" else peek_issuer(form=request.form)
        log.warning("authn request refused app=%s code=%s issuer=%r ip=%s cause=%s",
                    slug, exc.code, issuer, request.client_ip, exc.message, extra={"app": slug})
        audit_refused(request, slug, exc.code, issuer=(issuer or "")[:200] or None)
        label = app.get("label") or slug
        return error_page(exc.status, exc.code, "This sign-in request cannot be processed", exc.message,
                          hint=f"Start the sign-in again from {label}. If it keeps happening, give your administrator the error code below.",
                          cause=f"app={slug} {exc.code}", app=slug)

    if req is not None:
        pending = PendingSignOn.sp(slug, req.id, req.acs_url, req.relay_state, req.force_authn,
                                   mfa_requested=mfa_requested(req.requested_authn_contexts),
                                   requested_at=int(container().signon.clock()))
        log.info("authn request accepted app=%s request_id=%s binding=%s signed=%s force=%s passive=%s",
                 slug, req.id, req.binding, req.signed, req.force_authn, req.is_passive, extra={"app": slug})
        cannot = unsatisfiable(app, nameid_format=req.nameid_policy_format, authn_contexts=req.requested_authn_contexts,
                               comparison=req.requested_authn_comparison, decl_refs=req.requested_authn_decl_refs)
        if cannot is not None:  # no login could satisfy it: say so to the SP now
            return status_answer(app, req.acs_url, req.id, req.relay_state, cannot, request)
    else:
        pending = PendingSignOn.idp(slug)

    current = container().signon.signed_in(session_id(request))
    passive = bool(req and req.is_passive)
    step = next_step(signed_in=current is not None, force_authn=bool(req and req.force_authn), is_passive=passive)
    if step is Step.NO_PASSIVE:
        return status_answer(app, req.acs_url, req.id, req.relay_state, NOT_SIGNED_IN_PASSIVE, request)
    if step is Step.ISSUE:
        return issue(app, current.user, current.session, pending, request, [], passive=passive)
    return to_login(request, pending)
