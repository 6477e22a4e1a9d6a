"""The MFA gate in front of every Response (contract section 7): a session that lacks the second factor
this sign-in needs (policy, the app's override, the SP's RequestedAuthnContext) is sent to the second
step (a step-up: the factor only), or to enrol one first; an SP that asked for MFA for a user with no
factor, or asked for no page at all (IsPassive), gets a SAML status instead."""
from __future__ import annotations

from urllib.parse import quote

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.shared.cookies import Cookie

from idp.bootstrap import container
from idp.saml import constants as C
from idp.signon.mfa.policy import Need
from idp.signon.models import PendingSignOn, Session
from idp.signon.sso import SamlStatus
from idp.web.pages import redirect
from idp.web.request import WebRequest
from idp.web.session_cookies import browser_binding, resume_cookie

log = Logger(child=True)

NO_AUTHN_CONTEXT = SamlStatus(C.STATUS_RESPONDER, C.STATUS_NO_AUTHN_CONTEXT,
                              f"the user has no second factor, so {C.AC_REFEDS_MFA} cannot be met")
NO_PASSIVE_MFA = SamlStatus(C.STATUS_RESPONDER, C.STATUS_NO_PASSIVE, "a second factor is needed, which a passive request cannot ask for")


def status_for(need: Need, pending: PendingSignOn, *, passive: bool) -> SamlStatus | None:
    """The SAML status that answers instead of a page: NoAuthnContext (the SP asked for MFA, the user has no
    factor, or the request is passive), NoPassive (passive, and the policy needs a factor); else None."""
    if need is Need.NO_CONTEXT or (passive and pending.mfa_requested):
        return NO_AUTHN_CONTEXT
    if passive:
        return NO_PASSIVE_MFA
    return None


def interrupt(need: Need, user: dict, session: Session, pending: PendingSignOn, request: WebRequest,
              cookies: list[Cookie]) -> Response:
    """To the second step (a step-up of this session), or to the account page to enrol a factor first; either
    comes back to ``pending`` when done."""
    browser, more = browser_binding(request)
    signon = container().signon
    log.info("mfa needed before the response app=%s user=%s need=%s", pending.slug, user["id"], need.value,
             extra={"app": pending.slug, "user_id": user["id"]})
    if need is Need.VERIFY:
        state = signon.begin_step_up(browser, session, pending)
        return redirect(f"/login?state={quote(state.login_id)}", cookies + more)
    state = signon.pause_for_enrolment(browser, user["id"], pending)  # the account page resumes it once enrolled
    return redirect(f"/account/setup?resume={quote(state.login_id)}", cookies + more + [resume_cookie(state.login_id)])


def before_page(request: WebRequest, current, pending: PendingSignOn) -> Response | None:
    """For the IdP's own protected pages (the admin console): the step-up or enrolment this session still needs
    under the MFA policy before the page, coming back to ``pending`` (a console path); None when nothing is missing."""
    need = container().signon.mfa_gate(current.user, current.session, pending)
    if need is Need.NONE:
        return None
    return interrupt(need, current.user, current.session, pending, request, [])
