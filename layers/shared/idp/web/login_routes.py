"""The IdP's own pages of sign-on (contract section 3): GET /login shows the form of a pending login
bound to this browser, POST /login runs the login flow (idp.signon) and resumes what the login was
for (an SSO answer, else the portal), POST /logout ends the session (CSRF-checked)."""
from __future__ import annotations

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.shared.cookies import Cookie

from idp.bootstrap import container
from idp.signon.login import LoggedIn, LoginSubmission, Refused, ShowForm
from idp.signon.models import LoginState
from idp.web.forms import render
from idp.web.pages import error_page, html, redirect, unknown_app
from idp.web.request import WebRequest
from idp.web.session_cookies import BROWSER_COOKIE, SESSION_COOKIE, browser_binding, clear, session_cookie
from idp.web.sso_routes import issue

log = Logger(child=True)

# The login form's words for a ShowForm reason, and its status.
_FORM_ERRORS = {
    "missing_credentials": (400, "Enter your username and password."),
    "wrong_credentials": (401, "Wrong username or password."),
}


def _login_page(status: int, state: LoginState, *, error: str | None = None, username: str = "",
                cookies: list[Cookie] | None = None, notice: str | None = None) -> Response:
    label = None
    if state.pending.slug:
        app = container().store.get_app(state.pending.slug)
        label = (app or {}).get("label")
    body = render("login.html", action="/login", login_id=state.login_id, csrf=state.csrf, error=error,
                  username=username, app_label=label, notice=notice)
    return html(status, body, cookies=cookies)


def _refused(refused: Refused) -> Response:
    if refused.code == "csrf_failed":
        return error_page(403, "csrf_failed", "Sign-in form expired",
                          "The sign-in form is missing its security token, has expired, or was not sent from this site. "
                          "Reload the sign-in page and try again.", cause=refused.cause)
    if refused.code == "locked_out":
        minutes = max(1, (refused.retry_after + 59) // 60)
        return error_page(429, "locked_out", "Too many failed sign-in attempts",
                          f"Sign-in is locked after too many failed attempts. Try again in {minutes} minute{'s' if minutes != 1 else ''}.",
                          cause=refused.cause)
    return error_page(403, refused.code, "Account suspended",
                      "Your account is suspended, so you cannot sign in. Contact your administrator.", cause=refused.cause,
                      user_id=refused.uid)


def login_get(request: WebRequest) -> Response:
    """GET /login[?state=…]: the pending login's form, or a new one (or the portal when signed in)."""
    signon = container().signon
    browser, cookies = browser_binding(request)
    lid = request.query.get("state")
    state = signon.login_form(lid, browser) if not cookies else None
    if state is not None:
        return _login_page(200, state)
    if signon.signed_in(request.cookies.get(SESSION_COOKIE)) is not None:
        return redirect("/")
    if lid:
        log.info("login state unknown, expired or from another browser; starting a new one")
    state = signon.begin_login(browser)
    notice = "You have signed out." if request.query.get("signed_out") else None
    return _login_page(200, state, cookies=cookies, notice=notice)


def login_post(request: WebRequest) -> Response:
    """POST /login: the login flow; done, it resumes the pending SSO (or goes to the portal)."""
    form = request.form
    outcome = container().signon.login(LoginSubmission(
        login_id=form.get("login"), csrf=form.get("csrf"), browser=request.cookies.get(BROWSER_COOKIE),
        username=form.get("username") or "", password=form.get("password") or "", client=request.client_ip,
        old_session=request.cookies.get(SESSION_COOKIE),
    ))
    if isinstance(outcome, ShowForm):
        status, error = _FORM_ERRORS[outcome.reason]
        return _login_page(status, outcome.state, error=error, username=outcome.username)
    if isinstance(outcome, Refused):
        return _refused(outcome)
    assert isinstance(outcome, LoggedIn)
    cookies = [session_cookie(outcome.signed_in.session_id)]
    slug = outcome.pending.slug
    if not slug:
        return redirect("/", cookies)
    app = container().store.get_app(slug)
    if not app:
        return unknown_app(slug)
    return issue(app, outcome.signed_in.user, outcome.signed_in.session, outcome.pending, request, cookies)


def logout_post(request: WebRequest) -> Response:
    """POST /logout: end the session (its CSRF token required) and go to the login page."""
    if not container().signon.sign_out(request.cookies.get(SESSION_COOKIE), request.form.get("csrf")):
        return error_page(403, "csrf_failed", "Sign-out form expired",
                          "The sign-out request is missing its security token. Use the Sign out button on your portal.",
                          cause="logout csrf check failed", home=True)
    return redirect("/login?signed_out=1", [clear(SESSION_COOKIE)])
