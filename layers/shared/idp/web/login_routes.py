"""The IdP's own pages of sign-on (contract section 3): GET /login shows the form of a pending login
bound to this browser, POST /login runs the login flow (idp.signon) and resumes what the login was
for (an SSO answer, else the portal), and sets the device cookie; a throttled try gets the form
again with a 429, a Retry-After and how long to wait in words; POST /logout ends the session
(CSRF-checked) and keeps the device cookie."""
from __future__ import annotations

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.shared.cookies import Cookie

from idp.app.login_pages import AlreadySignedIn, LoginForm, LoginPages
from idp.app.sign_in import SignInAnswer
from idp.bootstrap import container
from idp.signon.login import LoginSubmission, Refused, ShowForm
from idp.web import sso_routes
from idp.web.forms import render
from idp.web.mfa_pages import SCRIPT_PAGE_CSP, second_step_page
from idp.web.pages import error_page, html, redirect, wait_words
from idp.web.request import WebRequest
from idp.web.session_cookies import (
    BROWSER,
    DEVICE,
    SESSION,
    browser_binding,
    clear,
    device_cookie,
    read,
    session_cookie,
    session_id,
)

log = Logger(child=True)


def _pages() -> LoginPages:
    return container().login_pages


REAUTH_NOTICE = "Enter your password again to change your sign-in methods."

# The login form's words for a ShowForm reason, and its status.
_FORM_ERRORS = {
    "missing_credentials": (400, "Enter your username and password."),
    "wrong_credentials": (401, "Wrong username or password."),
    "throttled": (429, "Too many failed sign-in attempts."),
    "second_factor": (200, None),
    "missing_code": (400, "Enter the code from your authenticator app, or a recovery code."),
    "wrong_code": (401, "That code is not valid. Enter the current code from your authenticator app, or an unused recovery code."),
}


def _login_page(status: int, form: LoginForm, *, error: str | None = None, username: str = "",
                cookies: list[Cookie] | None = None, notice: str | None = None, retry_after: int = 0,
                error_code: str | None = None) -> Response:
    if form.reauth:  # the password again before a change of sign-in methods
        notice = notice or REAUTH_NOTICE
    if retry_after:
        error = f"{error} Try again in {wait_words(retry_after)}."
    headers = {"Retry-After": str(retry_after)} if retry_after else None
    if form.second_step:  # past the password (or a step-up): the second step's form
        return second_step_page(status, form, error=error, error_code=error_code, cookies=cookies, headers=headers)
    state = form.state
    body = render("login.html", action="/login", login_id=state.login_id, csrf=state.csrf, error=error,
                  error_code=error_code, username=username, app_label=form.app_label, notice=notice,
                  passkeys=form.passkeys)
    return html(status, body, cookies=cookies, headers=headers, csp=SCRIPT_PAGE_CSP)


def _refused(refused: Refused) -> Response:
    if refused.code == "csrf_failed":
        return error_page(403, "csrf_failed", "Sign-in form expired",
                          "The sign-in form is missing its security token, has expired, or was not sent from this site. "
                          "Reload the sign-in page and try again.", cause=refused.cause)
    return error_page(403, refused.code, "Account suspended",
                      "Your account is suspended, so you cannot sign in. Contact your administrator.", cause=refused.cause,
                      user_id=refused.uid)


def login_get(request: WebRequest) -> Response:
    """GET /login[?state=…]: the pending login's form, or a new one (or the portal when signed in)."""
    browser, cookies = browser_binding(request)
    page = _pages().page(request.query.get("state"), browser, new_browser=bool(cookies), session_id=session_id(request))
    if isinstance(page, LoginForm):
        return _login_page(200, page)
    if isinstance(page, AlreadySignedIn):
        return redirect("/")
    if page.restarted:
        log.info("login state unknown, expired or from another browser; starting a new one")
    notice = "You have signed out." if request.query.get("signed_out") else None
    return _login_page(200, page.form, cookies=cookies, notice=notice)


def login_post(request: WebRequest) -> Response:
    """POST /login: the login flow; done, it resumes the pending SSO (or goes to the portal)."""
    form = request.form
    answer = container().sign_in.with_password(LoginSubmission(
        login_id=form.get("login"), csrf=form.get("csrf"), browser=read(request, BROWSER),
        username=form.get("username") or "", password=form.get("password") or "", client=request.client_ip,
        old_session=session_id(request), device=read(request, DEVICE), code=form.get("code") or "",
    ), client=sso_routes.client(request), base_url=request.base_url)
    return render_sign_in(answer, request)


def render_sign_in(answer: SignInAnswer, request: WebRequest) -> Response:
    """The answer to a run of the login flow (password, second step or passkey): the form again, a refusal, or
    the session's cookies and what the login resumes."""
    if isinstance(answer, ShowForm):
        status, error = _FORM_ERRORS[answer.reason]
        assert answer.state is not None  # the login form's flow always has its state
        return _login_page(status, _pages().form(answer.state), error=error, username=answer.username,
                           retry_after=answer.retry_after, error_code=answer.reason)
    if isinstance(answer, Refused):
        return _refused(answer)
    cookies = [session_cookie(answer.logged_in.signed_in.session_id)]
    if answer.logged_in.device_cookie:
        cookies.append(device_cookie(answer.logged_in.device_cookie))
    if answer.answer is None:
        return redirect(answer.path or "/", cookies)  # the portal, or the console page it came from
    return sso_routes.render(answer.answer, request, cookies)


def logout_post(request: WebRequest) -> Response:
    """POST /logout: end the session (its CSRF token required) and go to the login page."""
    if not _pages().sign_out(session_id(request), request.form.get("csrf"), client=sso_routes.client(request)):
        return error_page(403, "csrf_failed", "Sign-out form expired",
                          "The sign-out request is missing its security token. Use the Sign out button on your portal.",
                          cause="logout csrf check failed", home=True)
    return redirect("/login?signed_out=1", [clear(SESSION)])
