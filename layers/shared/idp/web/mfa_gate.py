"""The MFA gate in front of every Response (contract section 7): a session that lacks the second factor
this sign-in needs (policy, the app's override, the SP's RequestedAuthnContext) is sent to the second
step (a step-up: the factor only), or to enrol one first. (An SP that asked for MFA for a user with no
factor, or asked for no page at all, gets a SAML status instead: ``idp.signon.sso.mfa_status``.)"""
from __future__ import annotations

from urllib.parse import quote

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.shared.cookies import Cookie

from idp.app.login_pages import LoginPages
from idp.bootstrap import container
from idp.signon.mfa.policy import Need
from idp.signon.models import PendingSignOn, Session
from idp.web.login_redirect import to_step_up
from idp.web.pages import redirect
from idp.web.request import WebRequest
from idp.web.session_cookies import browser_binding, resume_cookie

log = Logger(child=True)


def _pages() -> LoginPages:
    """The login pages' use case (idp.app.login_pages): starting logins, step-ups and paused sign-ins."""
    return container().login_pages


def interrupt(need: Need, user: dict, session: Session, pending: PendingSignOn, request: WebRequest,
              cookies: list[Cookie]) -> Response:
    """To the second step (a step-up of this session), or to the account page to enrol a factor first; either
    comes back to ``pending`` when done."""
    log.info("mfa needed before the response app=%s user=%s need=%s", pending.slug, user["id"], need.value,
             extra={"app": pending.slug, "user_id": user["id"]})
    if need is Need.VERIFY:
        return to_step_up(request, session, pending, cookies)
    browser, more = browser_binding(request)
    state = _pages().pause_for_enrolment(browser, user["id"], pending)  # the account page resumes it once enrolled
    return redirect(f"/account/setup?resume={quote(state.login_id)}", cookies + more + [resume_cookie(state.login_id)])


def before_page(request: WebRequest, current, pending: PendingSignOn) -> Response | None:
    """For the IdP's own protected pages (the admin console): the step-up or enrolment this session still needs
    under the MFA policy before the page, coming back to ``pending`` (a console path); None when nothing is missing."""
    need = _pages().mfa_need(current, pending)
    if need is Need.NONE:
        return None
    return interrupt(need, current.user, current.session, pending, request, [])
