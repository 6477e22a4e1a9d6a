"""Answer an SSO (contract section 3): the use case behind the SSO URL, GET|POST /saml2/<slug>, and behind every
page that resumes a sign-in once the user is signed in (the login form, the account page after enrolment). It
reads the AuthnRequest (Redirect or POST binding) or starts IdP-initiated SSO, answers from the live session,
answers in SAML what cannot be given (InvalidNameIDPolicy, NoAuthnContext; for IsPassive NoPassive or
RequestDenied), or says the user must sign in, or show a second factor, first. It owns the answer's read scope
(what it reads of the app, the session and its user comes in two batches), its `sso` audit event (contract
section 8) and its log lines; the route parses the HTTP request, makes one call and renders the typed answer."""
from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol

from aws_lambda_powertools import Logger

from idp.app.answers import UnknownApp
from idp.app.browser import BrowserRequest, Client
from idp.kernel.audit import Actor, AuditEvent, AuditSink
from idp.saml import constants as C
from idp.saml.authn_request import AuthnRequest, SpPolicy, parse_post, parse_redirect, peek_issuer
from idp.saml.binding import inbound_binding
from idp.saml.errors import SamlRequestError
from idp.saml.response import build_response, build_status_response
from idp.saml.signing import SigningKey
from idp.signon.assertion import response_params
from idp.signon.mfa.policy import Need
from idp.signon.models import PendingSignOn, Session, SignedIn
from idp.signon.sso import (
    NOT_SIGNED_IN_PASSIVE,
    Denied,
    Grant,
    SamlStatus,
    Step,
    mfa_requested,
    mfa_status,
    next_step,
    passive_denied,
    unsatisfiable,
)

log = Logger(child=True)

ReadScope = Callable[..., AbstractContextManager[object]]
"""Opens the read scope of one answer: (slug, session cookie) for the SSO URL, (slug, user id) for a resumed one."""

# idp.signon.sso.Denied codes as the audit log names them
_DENIED = {"user_suspended": "suspended", "access_denied": "not_bound"}


# ---------------------------------------------------------------- what goes out
@dataclass(frozen=True)
class PostToSp:
    """A signed Response (with an assertion, or only a SAML status) auto-POSTed to the checked ACS URL."""

    acs_url: str
    saml_response: str
    relay_state: str | None


@dataclass(frozen=True)
class RequestRefused:
    """The AuthnRequest cannot be processed (`code`: the SamlRequestError's; `status`: the HTTP status)."""

    slug: str
    label: str
    status: int
    code: str
    message: str


@dataclass(frozen=True)
class AccessRefused:
    """The signed-in user may not use the app (`denied.code`: user_suspended, access_denied, or the ACS's)."""

    slug: str
    label: str
    user_id: str | None
    denied: Denied


@dataclass(frozen=True)
class SignInFirst:
    """No session (or one older than a ForceAuthn request): to the login form, which resumes `pending`."""

    pending: PendingSignOn


@dataclass(frozen=True)
class SecondFactorFirst:
    """The session lacks the second factor this sign-in needs: a step-up, or enrolment first (`need`)."""

    need: Need
    user: dict[str, Any]
    session: Session
    pending: PendingSignOn


SsoAnswer = PostToSp | UnknownApp | RequestRefused | AccessRefused | SignInFirst | SecondFactorFirst


# ---------------------------------------------------------------- what it needs
class SsoSignon(Protocol):
    """The sign-on service (idp.signon.service.SignOn) as the answer uses it."""

    def signed_in(self, session_id: str | None) -> SignedIn | None: ...

    def authorize(self, app: dict[str, Any], user: dict[str, Any], pending: PendingSignOn) -> Grant | Denied: ...

    def mfa_gate(self, user: dict[str, Any], session: Session, pending: PendingSignOn) -> Need: ...

    def replay_check(self, slug: str, kind: str = "authn") -> Callable[[str], bool]: ...

    def clock(self) -> float: ...


class SsoApps(Protocol):
    def get_app(self, slug: str) -> dict[str, Any] | None: ...


class SigningKeys(Protocol):
    def signing_key_pem(self, slug: str, kid: str) -> str: ...


# ---------------------------------------------------------------- the use case
class SingleSignOn:
    def __init__(self, apps: SsoApps, signon: SsoSignon, keys: SigningKeys, audit: AuditSink, *,
                 sso_reads: ReadScope, answer_reads: ReadScope):
        self.apps, self.signon, self.keys, self.audit = apps, signon, keys, audit
        self.sso_reads, self.answer_reads = sso_reads, answer_reads

    def answer(self, req: BrowserRequest) -> SsoAnswer:
        """GET|POST /saml2/<slug>."""
        with self.sso_reads(req.slug, req.session_cookie):
            return self._answer(req)

    def resume(self, slug: str, signed_in: SignedIn, pending: PendingSignOn, *, base_url: str,
               client: Client) -> SsoAnswer:
        """A sign-in paused for the login form or an enrolment, for `slug`, once the user is signed in."""
        with self.answer_reads(slug, signed_in.user["id"]):
            app = self.apps.get_app(slug)
            if not app:
                return UnknownApp(slug)
            return self._issue(app, signed_in.user, signed_in.session, pending, base_url, client)

    # ------------------------------------------------------------ the SSO URL
    def _answer(self, req: BrowserRequest) -> SsoAnswer:
        slug = req.slug
        app = self.apps.get_app(slug)
        if not app:
            self._refused(req.client, slug, "unknown_sp")
            return UnknownApp(slug)
        try:
            authn = self._read_authn_request(app, req)
        except SamlRequestError as exc:
            issuer = peek_issuer(raw_query=req.raw_query) if req.method == "GET" else peek_issuer(form=req.form)
            log.warning("authn request refused app=%s code=%s issuer=%r ip=%s cause=%s",
                        slug, exc.code, issuer, req.client.ip, exc.message, extra={"app": slug})
            self._refused(req.client, slug, exc.code, issuer=(issuer or "")[:200] or None)
            return RequestRefused(slug, app.get("label") or slug, exc.status, exc.code, exc.message)

        if authn is not None:
            pending = PendingSignOn.sp(slug, authn.id, authn.acs_url, authn.relay_state, authn.force_authn,
                                       mfa_requested=mfa_requested(authn.requested_authn_contexts),
                                       requested_at=int(self.signon.clock()))
            log.info("authn request accepted app=%s request_id=%s binding=%s signed=%s force=%s passive=%s",
                     slug, authn.id, authn.binding, authn.signed, authn.force_authn, authn.is_passive, extra={"app": slug})
            cannot = unsatisfiable(app, nameid_format=authn.nameid_policy_format,
                                   authn_contexts=authn.requested_authn_contexts,
                                   comparison=authn.requested_authn_comparison,
                                   decl_refs=authn.requested_authn_decl_refs)
            if cannot is not None:  # no login could satisfy it: say so to the SP now
                return self._status(app, authn.acs_url, authn.id, authn.relay_state, cannot, req.base_url, req.client)
        else:
            pending = PendingSignOn.idp(slug)

        current = self.signon.signed_in(req.session_cookie)
        passive = bool(authn and authn.is_passive)
        step = next_step(signed_in=current is not None, force_authn=bool(authn and authn.force_authn), is_passive=passive)
        if step is Step.NO_PASSIVE:
            assert authn is not None  # only a passive AuthnRequest gets there
            return self._status(app, authn.acs_url, authn.id, authn.relay_state, NOT_SIGNED_IN_PASSIVE, req.base_url,
                                req.client)
        if step is Step.ISSUE:
            assert current is not None
            return self._issue(app, current.user, current.session, pending, req.base_url, req.client, passive=passive)
        return SignInFirst(pending)

    def _read_authn_request(self, app: dict[str, Any], req: BrowserRequest) -> AuthnRequest | None:
        """The request's AuthnRequest, checked against the app; None when there is none (IdP-initiated)."""
        binding = inbound_binding(req.method, req.raw_query, req.form)
        if binding is None:
            return None
        slug = app["slug"]
        sp = sp_policy(app, (app_urls(slug, req.base_url)["sso_url"],))
        seen = self.signon.replay_check(slug)
        if binding == C.BINDING_REDIRECT:
            return parse_redirect(req.raw_query, sp, seen=seen)
        return parse_post(req.form, sp, seen=seen)

    # ------------------------------------------------------------ the answer for a signed-in user
    def _issue(self, app: dict[str, Any], user: dict[str, Any], session: Session, pending: PendingSignOn,
               base_url: str, client: Client, *, passive: bool = False) -> SsoAnswer:
        """Access check, the MFA gate, then the Response; a refusal is a page, or for an IsPassive request a
        RequestDenied Response (the SP asked for no page). A ForceAuthn request is answered only by a session that
        authenticated since it arrived, whatever page resumes it: an older session goes to the login form."""
        slug = app["slug"]
        if not pending.fresh_enough(session.auth_instant):
            log.warning("forceauthn request resumed with an older session app=%s user=%s request_id=%s: login again",
                        slug, user.get("id"), pending.request_id, extra={"app": slug, "user_id": user.get("id")})
            return SignInFirst(pending)
        grant = self.signon.authorize(app, user, pending)
        if isinstance(grant, Denied):
            self._refused(client, slug, grant.code, user_id=user.get("id"), pending=pending)
            status = passive_denied(grant) if passive and pending.sp_initiated else None
            if status is not None and pending.acs_url:
                log.info("passive request refused app=%s user=%s reason=%s", slug, user.get("id"), grant.code,
                         extra={"app": slug, "user_id": user.get("id")})
                return self._status(app, pending.acs_url, pending.request_id, pending.relay_state, status, base_url,
                                    client, audited=True)
            return AccessRefused(slug, app.get("label") or slug, user.get("id"), grant)
        need = self.signon.mfa_gate(user, session, pending)
        if need is not Need.NONE:  # no Response without the second factor this sign-in needs
            status = mfa_status(need, pending, passive=passive)
            if status is not None and pending.sp_initiated and pending.acs_url:
                return self._status(app, pending.acs_url, pending.request_id, pending.relay_state, status, base_url,
                                    client, user_id=user["id"])
            return SecondFactorFirst(need, user, session, pending)
        params = response_params(app, user, session, idp_entity_id=app_urls(slug, base_url)["idp_entity_id"],
                                 acs_url=grant.acs_url, in_response_to=grant.in_response_to)
        saml_response = build_response(params, self.signing_key(app))
        log.info("saml response issued app=%s user=%s acs=%s sp_initiated=%s request_id=%s",
                 slug, user["id"], grant.acs_url, pending.sp_initiated, pending.request_id,
                 extra={"app": slug, "user_id": user["id"]})
        self._record(client, slug, "success", user_id=user["id"], pending=pending, acs=grant.acs_url)
        return PostToSp(grant.acs_url, saml_response, grant.relay_state)

    def _status(self, app: dict[str, Any], acs_url: str, in_response_to: str | None, relay_state: str | None,
                status: SamlStatus, base_url: str, client: Client, *, user_id: str | None = None,
                audited: bool = False) -> PostToSp:
        """A signed Response without an assertion, carrying `status`, to the (checked) ACS URL, and its sso audit
        event (unless the refusal was `audited` already)."""
        slug = app["slug"]
        saml_response = build_status_response(
            idp_entity_id=app_urls(slug, base_url)["idp_entity_id"], acs_url=acs_url, in_response_to=in_response_to,
            status_code=status.code, sub_status_code=status.sub_code, message=status.message,
            key=self.signing_key(app),
        )
        if not audited:  # a SAML status sent instead of an assertion, filed under the reason it carries
            self._record(client, slug, "failure", reason=status.reason, user_id=user_id, request_id=in_response_to,
                         acs=acs_url)
        log.info("saml status answered app=%s request_id=%s status=%s", slug, in_response_to,
                 status.sub_code.rsplit(":", 1)[-1], extra={"app": slug})
        return PostToSp(acs_url, saml_response, relay_state)

    def signing_key(self, app: dict[str, Any]) -> SigningKey:
        """The app's active signing key (the private key read from the secret store)."""
        from idp.directory.apps import active_key

        meta = active_key(app)
        pem = self.keys.signing_key_pem(app["slug"], meta["kid"])
        return SigningKey(pem, meta["certificate_pem"], kid=f"{app['slug']}/{meta['kid']}")

    # ------------------------------------------------------------ its audit events
    def _refused(self, client: Client, slug: str, code: str, *, user_id: str | None = None,
                 pending: PendingSignOn | None = None, **detail: Any) -> None:
        """A refusal; `code` is a Denied code, a SamlRequestError code or ``unknown_sp``."""
        self._record(client, slug, "failure", reason=_DENIED.get(code, code), user_id=user_id, pending=pending, **detail)

    def _record(self, client: Client, slug: str, outcome: str, *, reason: str | None = None,
                user_id: str | None = None, pending: PendingSignOn | None = None, **detail: Any) -> None:
        """The ``sso`` audit event: a Response issued (the app, the ACS, SP- or IdP-initiated), or refused with a
        reason code (``unknown_sp``, the AuthnRequest's own error, ``not_bound``, ``suspended``, or the reason a
        SAML status carries: ``mfa_required``, ``no_authn_context``, ``no_passive``, ...)."""
        if pending is not None:
            detail.update(sp_initiated=pending.sp_initiated, request_id=pending.request_id)
            if pending.sp_initiated and "acs" not in detail:
                detail["acs"] = pending.acs_url
        self.audit.record(AuditEvent(
            "sso", outcome, Actor("user", user_id) if user_id else Actor("user"), user_id=user_id, app=slug,
            ip=client.ip, user_agent=client.user_agent, reason=reason,
            detail={k: v for k, v in detail.items() if v is not None}))


def sp_policy(app: dict[str, Any], destinations: tuple[str, ...]) -> SpPolicy:
    """The app's SP as an inbound request's checks see it; `destinations` are our URLs it may address."""
    return SpPolicy(
        sp_entity_id=app["sp_entity_id"],
        acs_urls=tuple(app.get("acs_urls") or ()),
        sp_certificate=app.get("sp_certificate") or None,
        destinations=destinations,
    )


def app_urls(slug: str, base_url: str) -> dict[str, str]:
    """Entity ID, SSO, SLO, metadata and certificate URLs of the app."""
    from idp.directory.apps import app_urls as urls  # on first use: idp.directory.apps pulls in the password hasher

    return urls(slug, base_url)
