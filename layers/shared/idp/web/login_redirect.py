"""Where a request goes when someone must sign in first: a new pending login for this browser (or a step-up
of its session) and the redirect to the login form with the pending login's id. Written once for SSO, the
account pages, the console and the MFA gate."""
from __future__ import annotations

from urllib.parse import quote

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.shared.cookies import Cookie

from idp.app.login_pages import LoginPages
from idp.bootstrap import container
from idp.signon.models import PendingSignOn, Session
from idp.web.pages import redirect
from idp.web.request import WebRequest
from idp.web.session_cookies import browser_binding


def _pages() -> LoginPages:
    """The login pages' use case (idp.app.login_pages): starting logins, step-ups and paused sign-ins."""
    return container().login_pages


def _to_form(login_id: str, cookies: list[Cookie]) -> Response:
    return redirect(f"/login?state={quote(login_id)}", cookies)


def to_login(request: WebRequest, pending: PendingSignOn | None, cookies: list[Cookie] | None = None) -> Response:
    """A new pending login for this browser that comes back to `pending`, and the redirect to its form."""
    browser, binding = browser_binding(request)
    state = _pages().begin(browser, pending)
    return _to_form(state.login_id, [*(cookies or []), *binding])


def to_step_up(request: WebRequest, session: Session, pending: PendingSignOn, cookies: list[Cookie] | None = None) -> Response:
    """The second step again for a signed-in session (a step-up), coming back to `pending` once done."""
    browser, binding = browser_binding(request)
    state = _pages().step_up(browser, session, pending)
    return _to_form(state.login_id, [*(cookies or []), *binding])
