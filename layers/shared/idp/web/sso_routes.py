"""The SSO URL, GET|POST /saml2/<slug> (contract section 3): parse the request, ask the use case
(`idp.app.sso.SingleSignOn`), render its answer: the auto-POST form of a Response (an assertion, or a SAML
status such as NoPassive or RequestDenied), a refusal page, the login form, or the second factor first.
The login form and the account page resume a sign-in here (`resume`) once the user is signed in."""
from __future__ import annotations

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.shared.cookies import Cookie

from idp.app.answers import UnknownApp
from idp.app.browser import BrowserRequest, Client
from idp.app.sso import (
    AccessRefused,
    PostToSp,
    RequestRefused,
    SecondFactorFirst,
    SignInFirst,
    SsoAnswer,
)
from idp.bootstrap import container
from idp.signon.models import PendingSignOn, SignedIn
from idp.web import mfa_gate
from idp.web.forms import POST_FORM_CSP, render_post_form
from idp.web.login_redirect import to_login
from idp.web.pages import error_page, html, unknown_app
from idp.web.request import WebRequest
from idp.web.session_cookies import session_id


def client(request: WebRequest) -> Client:
    return Client(request.client_ip, request.headers.get("user-agent"))


def browser_request(slug: str, request: WebRequest) -> BrowserRequest:
    """What the SAML use cases read of GET|POST /saml2/<slug>[/slo]."""
    return BrowserRequest(slug, request.method, request.raw_query, request.form, request.base_url, session_id(request),
                          client(request))


def sso(slug: str, request: WebRequest) -> Response:
    """GET|POST /saml2/<slug>."""
    return render(container().sso.answer(browser_request(slug, request)), request, [])


def resume(slug: str, signed_in: SignedIn, pending: PendingSignOn, request: WebRequest, cookies: list[Cookie]) -> Response:
    """A sign-in for `slug` that the login form or an enrolment paused, once the user is signed in."""
    answer = container().sso.resume(slug, signed_in, pending, base_url=request.base_url, client=client(request))
    return render(answer, request, cookies)


def render(answer: SsoAnswer, request: WebRequest, cookies: list[Cookie]) -> Response:
    if isinstance(answer, PostToSp):
        return html(200, render_post_form(answer.acs_url, answer.saml_response, answer.relay_state), cookies=cookies,
                    csp=POST_FORM_CSP)
    if isinstance(answer, SignInFirst):
        return to_login(request, answer.pending)
    if isinstance(answer, SecondFactorFirst):
        return mfa_gate.interrupt(answer.need, answer.user, answer.session, answer.pending, request, cookies)
    if isinstance(answer, AccessRefused):
        return _access_refused(answer, cookies)
    if isinstance(answer, RequestRefused):
        return error_page(answer.status, answer.code, "This sign-in request cannot be processed", answer.message,
                          hint=f"Start the sign-in again from {answer.label}. If it keeps happening, give your "
                               "administrator the error code below.",
                          cause=f"app={answer.slug} {answer.code}", app=answer.slug)
    assert isinstance(answer, UnknownApp)
    return unknown_app(answer.slug)


def _access_refused(refused: AccessRefused, cookies: list[Cookie]) -> Response:
    slug, label, uid, denied = refused.slug, refused.label, refused.user_id, refused.denied
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
