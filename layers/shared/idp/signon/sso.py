"""The decisions of the SSO URL, pure: whether a request is answered from the live session, with
NoPassive, or after a login; where an answer may go (the ACS URL must still be registered); and
which SAML status answers what the SP asked for and this IdP cannot give (a NameID format the app
does not produce, an authentication context stronger than a password, a passive request for a user
who may not be answered, a second factor the sign-in needs and cannot ask for). Every status is built
here with the reason code the audit log files it under (contract section 8), so no caller guesses the
reason from a message."""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Sequence

from idp.saml import constants as C
from idp.signon.assertion import nameid_format as app_nameid_format
from idp.signon.mfa.policy import Need
from idp.signon.models import PendingSignOn


class Step(str, Enum):
    ISSUE = "issue"  # answer from the live session
    NO_PASSIVE = "no_passive"  # IsPassive and a login would be needed: Responder/NoPassive
    LOGIN = "login"  # to the login page, then resume


def next_step(*, signed_in: bool, force_authn: bool = False, is_passive: bool = False) -> Step:
    """IsPassive never shows a login form; ForceAuthn never reuses the session."""
    if is_passive and (not signed_in or force_authn):
        return Step.NO_PASSIVE
    if signed_in and not force_authn:
        return Step.ISSUE
    return Step.LOGIN


@dataclass(frozen=True)
class Grant:
    """Where and how to answer: a registered ACS URL, the RelayState to return, the request answered."""

    acs_url: str
    relay_state: str | None
    in_response_to: str | None


@dataclass(frozen=True)
class Denied:
    """Why no answer is sent: ``user_suspended``, ``access_denied`` or ``acs_not_registered``."""

    code: str
    cause: str | None = None


def answer_to(app: dict, pending: PendingSignOn) -> Grant | Denied:
    """SP-initiated: the request's (checked) ACS URL, if the app still registers it; IdP-initiated: the
    first registered ACS URL and the app's default RelayState."""
    acs_urls = app.get("acs_urls") or []
    if pending.sp_initiated:
        acs, relay_state, in_response_to = pending.acs_url, pending.relay_state, pending.request_id
    else:
        acs, relay_state, in_response_to = (acs_urls[0] if acs_urls else None), (app.get("default_relay_state") or None), None
    if not acs or acs not in acs_urls:  # the app changed since the request was checked
        return Denied("acs_not_registered")
    return Grant(acs, relay_state, in_response_to)


@dataclass(frozen=True)
class SamlStatus:
    """A non-success answer to the SP: top-level ``code``, second-level ``sub_code``, ``message`` in words, and
    ``reason``, the audit log's code for it (``no_authn_context``, ``mfa_required``, ``no_passive``, ...)."""

    code: str
    sub_code: str
    message: str
    reason: str


#: IsPassive, and the user is not signed in (or ForceAuthn asks for a login a passive request cannot show).
NOT_SIGNED_IN_PASSIVE = SamlStatus(C.STATUS_RESPONDER, C.STATUS_NO_PASSIVE,
                                   "The user is not signed in at the identity provider", "no_passive")
#: The SP asked for the REFEDS MFA profile and the user has no second factor (or the request is passive).
MFA_NO_AUTHN_CONTEXT = SamlStatus(C.STATUS_RESPONDER, C.STATUS_NO_AUTHN_CONTEXT,
                                  f"the user has no second factor, so {C.AC_REFEDS_MFA} cannot be met", "mfa_required")
#: A second factor is needed and the request is passive, so no page may ask for it.
MFA_NO_PASSIVE = SamlStatus(C.STATUS_RESPONDER, C.STATUS_NO_PASSIVE,
                            "a second factor is needed, which a passive request cannot ask for", "mfa_required")


#: What a password login satisfies; with a second factor (the MFA stages), the REFEDS MFA profile too.
PASSWORD_CONTEXTS = frozenset({C.AC_PASSWORD_PROTECTED_TRANSPORT, C.AC_UNSPECIFIED})
SATISFIED_CONTEXTS = PASSWORD_CONTEXTS | {C.AC_REFEDS_MFA}
#: NameID formats any app satisfies besides its own (unspecified: "whatever the IdP sends").
_ANY_FORMAT = frozenset({C.NAMEID_UNSPECIFIED})


def unsatisfiable(app: dict, *, nameid_format: str | None, authn_contexts: Sequence[str], comparison: str | None,
                  decl_refs: Sequence[str] | bool = ()) -> SamlStatus | None:
    """The status for an AuthnRequest this IdP cannot satisfy for ``app`` (InvalidNameIDPolicy, NoAuthnContext),
    or None. Authentication contexts: only by class reference, compared ``exact`` or ``minimum``, and at
    least one requested class must be PasswordProtectedTransport, unspecified or the REFEDS MFA profile (which
    the sign-in then steps up to: ``mfa_requested``)."""
    produced = app_nameid_format(app)
    if nameid_format and nameid_format not in _ANY_FORMAT | {produced}:
        return SamlStatus(C.STATUS_REQUESTER, C.STATUS_INVALID_NAMEID_POLICY,
                          f"this application's NameID format is {produced}, not the requested {nameid_format}",
                          "invalid_nameid_policy")
    if comparison is None and not authn_contexts and not decl_refs:
        return None
    if decl_refs or comparison not in (None, "exact", "minimum") or not SATISFIED_CONTEXTS & set(authn_contexts):
        asked = ", ".join(authn_contexts) or "an AuthnContextDeclRef"
        return SamlStatus(C.STATUS_RESPONDER, C.STATUS_NO_AUTHN_CONTEXT,
                          f"the requested authentication context ({comparison or 'exact'}: {asked}) cannot be met; "
                          f"this identity provider authenticates with {C.AC_PASSWORD_PROTECTED_TRANSPORT} "
                          f"or {C.AC_REFEDS_MFA}", "no_authn_context")
    return None


def mfa_requested(authn_contexts: Sequence[str]) -> bool:
    """The SP's RequestedAuthnContext is met only by a second factor: the REFEDS MFA profile is the one requested
    class this IdP satisfies (a request that also accepts a password is met by a password)."""
    return bool(SATISFIED_CONTEXTS & set(authn_contexts)) and not PASSWORD_CONTEXTS & set(authn_contexts)


def passive_denied(denied: Denied) -> SamlStatus | None:
    """The answer to an IsPassive request for a signed-in user who may not be answered (RequestDenied), or None
    when the refusal must not go to the ACS at all (an ACS URL no longer registered)."""
    if denied.code not in ("access_denied", "user_suspended"):
        return None
    return SamlStatus(C.STATUS_RESPONDER, C.STATUS_REQUEST_DENIED, "the signed-in user may not use this application",
                      "request_denied")


def mfa_status(need: Need, pending: PendingSignOn, *, passive: bool) -> SamlStatus | None:
    """The SAML status that answers a sign-in still short of its second factor instead of a page: NoAuthnContext
    (the SP asked for MFA and the user has no factor, or the request is passive), NoPassive (passive, and the
    policy needs a factor); else None (the browser is sent to the second step or to enrol)."""
    if need is Need.NO_CONTEXT or (passive and pending.mfa_requested):
        return MFA_NO_AUTHN_CONTEXT
    if passive:
        return MFA_NO_PASSIVE
    return None
