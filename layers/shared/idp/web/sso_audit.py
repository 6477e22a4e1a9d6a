"""The ``sso`` audit events of the SSO URL (contract section 8): a Response issued (the app, the ACS,
SP- or IdP-initiated), or refused with a reason code: ``unknown_sp``, the AuthnRequest's own error
(``bad_signature``, ``replayed``, ``signature_required``, ``acs_not_registered``, ``malformed``, ...),
``not_bound``, ``suspended``, or the reason the SAML status answered instead carries (decided with the
status in ``idp.signon.sso``: ``mfa_required`` when a second factor is missing, ``no_authn_context`` for a
context this IdP cannot meet, ``no_passive``, ``invalid_nameid_policy``, ``request_denied``)."""
from __future__ import annotations

from idp.bootstrap import container
from idp.kernel.audit import Actor, AuditEvent
from idp.web.request import WebRequest

# idp.signon.sso.Denied codes as the audit log names them
_DENIED = {"user_suspended": "suspended", "access_denied": "not_bound"}


def _record(request: WebRequest, slug: str, outcome: str, *, reason: str | None = None, user_id: str | None = None,
            pending=None, **detail) -> None:
    if pending is not None:
        detail.update(sp_initiated=pending.sp_initiated, request_id=pending.request_id)
        if pending.sp_initiated and "acs" not in detail:
            detail["acs"] = pending.acs_url
    container().audit.record(AuditEvent(
        "sso", outcome, Actor("user", user_id) if user_id else Actor("user"), user_id=user_id, app=slug,
        ip=request.client_ip, user_agent=request.headers.get("user-agent"), reason=reason,
        detail={k: v for k, v in detail.items() if v is not None}))


def issued(request: WebRequest, slug: str, user_id: str, acs_url: str, pending) -> None:
    _record(request, slug, "success", user_id=user_id, pending=pending, acs=acs_url)


def refused(request: WebRequest, slug: str, code: str, *, user_id: str | None = None, pending=None, **detail) -> None:
    """A refusal; ``code`` is a Denied code, a SamlRequestError code or ``unknown_sp``."""
    _record(request, slug, "failure", reason=_DENIED.get(code, code), user_id=user_id, pending=pending, **detail)


def status_answered(request: WebRequest, slug: str, status, in_response_to: str | None, acs_url: str, *,
                    user_id: str | None = None) -> None:
    """A SAML status (idp.signon.sso.SamlStatus) sent instead of an assertion, filed under the reason it carries."""
    _record(request, slug, "failure", reason=status.reason, user_id=user_id, request_id=in_response_to, acs=acs_url)
