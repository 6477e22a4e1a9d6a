"""SP-initiated Single Logout, GET|POST /saml2/<slug>/slo (contract section 3): parse the request, ask the use
case (`idp.app.slo.SingleLogout`), render its answer: the signed LogoutResponse (a redirect, or an auto-POST
form) to the app's `sp_slo_url`, a page that says whether a session ended when the app has none, or a refusal.
The session cookie is cleared when the session ended."""
from __future__ import annotations

from aws_lambda_powertools.event_handler import Response

from idp.app.answers import UnknownApp
from idp.app.slo import LogoutDone, LogoutRefused, LogoutResponsePost, LogoutResponseRedirect
from idp.bootstrap import container
from idp.web.forms import POST_FORM_CSP, render, render_post_form
from idp.web.pages import error_page, html, redirect, unknown_app
from idp.web.request import WebRequest
from idp.web.session_cookies import SESSION, clear
from idp.web.sso_routes import browser_request


def slo(slug: str, request: WebRequest) -> Response:
    """GET|POST /saml2/<slug>/slo."""
    answer = container().slo.answer(browser_request(slug, request))
    if isinstance(answer, LogoutResponseRedirect):
        return redirect(answer.url, [clear(SESSION)] if answer.ended else [])
    if isinstance(answer, LogoutResponsePost):
        return html(200, render_post_form(answer.slo_url, answer.saml_response, answer.relay_state),
                    cookies=[clear(SESSION)] if answer.ended else [], csp=POST_FORM_CSP)
    if isinstance(answer, LogoutDone):
        return _page(answer)
    if isinstance(answer, LogoutRefused):
        return error_page(answer.status, answer.code, "This sign-out request cannot be processed", answer.message,
                          cause=f"app={answer.slug} {answer.code}", app=answer.slug)
    assert isinstance(answer, UnknownApp)
    return unknown_app(answer.slug)


def _page(done: LogoutDone) -> Response:
    result = done.result
    if result.ended:
        body = render("signed_out.html", message=f"You have been signed out of this identity provider "
                      f"(requested by {done.label}).", login_url="/login")
        return html(200, body, cookies=[clear(SESSION)])
    return error_page(400, result.code, "Session not ended",
                      f"{done.label} asked to end a session of this identity provider, but none was ended: {result.message}.",
                      cause=f"app={done.slug} {result.code}", home=True, app=done.slug)
