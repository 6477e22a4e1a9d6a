"""SP-initiated Single Logout (contract section 3), the use case behind GET|POST /saml2/<slug>/slo: reads the
app's LogoutRequest (Redirect or POST binding; signed when the app holds an SP certificate; each ID once), ends
the browser's IdP session only when its NameID and SessionIndex name that session (so a cross-site page cannot
sign anyone out), and answers with a signed LogoutResponse to the app's `sp_slo_url` (in the binding the request
came in) whose status says whether a session ended, or, when the app has none, with a page that says so. It
writes the refusal's `logout` audit event; the sign-on service writes the others."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from aws_lambda_powertools import Logger

from idp.app.answers import UnknownApp
from idp.app.browser import BrowserRequest
from idp.app.sso import SingleSignOn, app_urls, sp_policy
from idp.kernel.audit import AuditSink
from idp.saml import constants as C
from idp.saml.binding import inbound_binding
from idp.saml.errors import SamlRequestError
from idp.saml.logout import (
    LogoutRequest,
    build_logout_response,
    build_logout_response_redirect_url,
    parse_logout_post,
    parse_logout_redirect,
)
from idp.signon.audit_trail import logout_event
from idp.signon.models import SignedIn
from idp.signon.service import LogoutResult

log = Logger(child=True)

# The LogoutResponse status when no session ended: the request named another session (Requester), or
# this browser has none (Responder).
_STATUS = {"ended": C.STATUS_SUCCESS, "no_session": C.STATUS_RESPONDER}


@dataclass(frozen=True)
class LogoutRefused:
    """The LogoutRequest cannot be processed (`code`: the SamlRequestError's; `status`: the HTTP status)."""

    slug: str
    status: int
    code: str
    message: str


@dataclass(frozen=True)
class LogoutDone:
    """What the request did (`result`: ended, or why not), for an app without `sp_slo_url`: a page says it."""

    slug: str
    label: str
    result: LogoutResult


@dataclass(frozen=True)
class LogoutResponseRedirect:
    """The signed LogoutResponse in the HTTP-Redirect binding: the URL to send the browser to."""

    url: str
    ended: bool


@dataclass(frozen=True)
class LogoutResponsePost:
    """The signed LogoutResponse in the HTTP-POST binding, auto-POSTed to the app's `sp_slo_url`."""

    slo_url: str
    saml_response: str
    relay_state: str | None
    ended: bool


SloAnswer = UnknownApp | LogoutRefused | LogoutDone | LogoutResponseRedirect | LogoutResponsePost


class SloSignon(Protocol):
    """The sign-on service (idp.signon.service.SignOn) as single logout uses it."""

    def signed_in(self, session_id: str | None) -> SignedIn | None: ...

    def single_logout(self, current: SignedIn | None, app: dict[str, Any], nameid: str | None,
                      session_indexes: Sequence[str], *, ip: str | None = None,
                      user_agent: str | None = None) -> LogoutResult: ...

    def replay_check(self, slug: str, kind: str = "authn") -> Callable[[str], bool]: ...


class SingleLogout:
    def __init__(self, sso: SingleSignOn, signon: SloSignon, audit: AuditSink):
        self.sso, self.signon, self.audit = sso, signon, audit  # sso: the apps and their signing keys

    def answer(self, req: BrowserRequest) -> SloAnswer:
        slug = req.slug
        app = self.sso.apps.get_app(slug)
        if not app:
            return UnknownApp(slug)
        urls = app_urls(slug, req.base_url)
        try:
            logout = self._read_logout_request(app, req, urls)
        except SamlRequestError as exc:
            self.audit.record(logout_event(None, app=slug, slo=True, reason=exc.code, ip=req.client.ip,
                                           user_agent=req.client.user_agent))
            log.warning("logout request refused app=%s code=%s ip=%s cause=%s", slug, exc.code, req.client.ip,
                        exc.message, extra={"app": slug})
            return LogoutRefused(slug, exc.status, exc.code, exc.message)

        current = self.signon.signed_in(req.session_cookie)
        result = self.signon.single_logout(current, app, logout.nameid, logout.session_indexes, ip=req.client.ip,
                                           user_agent=req.client.user_agent)
        log.info("logout request app=%s request_id=%s signed=%s outcome=%s", slug, logout.id, logout.signed,
                 result.code, extra={"app": slug, "user_id": current.uid if current else None})
        slo_url = app.get("sp_slo_url")
        if not slo_url:
            return LogoutDone(slug, app.get("label") or slug, result)
        key = self.sso.signing_key(app)
        status = _STATUS.get(result.code, C.STATUS_REQUESTER)
        message = None if result.ended else result.message
        if logout.binding == C.BINDING_REDIRECT:
            url = build_logout_response_redirect_url(idp_entity_id=urls["idp_entity_id"], destination=slo_url,
                                                     in_response_to=logout.id, key=key, relay_state=logout.relay_state,
                                                     status_code=status, message=message)
            return LogoutResponseRedirect(url, result.ended)
        b64 = build_logout_response(idp_entity_id=urls["idp_entity_id"], destination=slo_url, in_response_to=logout.id,
                                    key=key, status_code=status, message=message)
        return LogoutResponsePost(slo_url, b64, logout.relay_state, result.ended)

    def _read_logout_request(self, app: dict[str, Any], req: BrowserRequest, urls: dict[str, str]) -> LogoutRequest:
        binding = inbound_binding(req.method, req.raw_query, req.form)
        sp = sp_policy(app, (urls["slo_url"], urls["sso_url"]))
        seen = self.signon.replay_check(app["slug"], kind="logout")
        if binding == C.BINDING_REDIRECT:
            return parse_logout_redirect(req.raw_query, sp, seen=seen)
        if binding == C.BINDING_POST:
            return parse_logout_post(req.form, sp, seen=seen)
        raise SamlRequestError("malformed", "expected a LogoutRequest (SAMLRequest parameter)")
