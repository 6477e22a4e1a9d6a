"""Parse and check an SP's AuthnRequest (HTTP-Redirect or HTTP-POST binding), pure: the caller
supplies the app's SP settings (SpPolicy), optionally a clock and a replay check ``seen(request_id)``
(True when the ID was already used), and gets an AuthnRequest or a SamlRequestError naming the reason."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Callable, Iterable, Mapping, Sequence

if TYPE_CHECKING:
    from lxml import etree

from idp.saml import binding as B
from idp.saml import constants as C
from idp.saml.errors import SamlRequestError

# The checks, in order (each failure is a SamlRequestError with the code in brackets): decode + size
# caps + hardened XML parse [malformed]; root is samlp:AuthnRequest, Version 2.0, a valid ID and
# IssueInstant, protocol-schema valid [malformed]; Issuer equals the app's SP entity ID [unknown_sp];
# a signature when the app holds an SP certificate [signature_required, bad_signature]; Destination,
# if present, is our SSO URL [wrong_destination]; ProtocolBinding is HTTP-POST [unsupported_binding];
# the ACS URL (given, by index, or the first registered) is registered [acs_not_registered];
# IssueInstant within ±5 minutes [expired]; RelayState ≤ 80 bytes [relay_state_too_long]; the ID was
# not seen before [replayed].

#: Allowed distance between an AuthnRequest's IssueInstant and our clock.
MAX_CLOCK_SKEW = timedelta(minutes=5)


@dataclass(frozen=True)
class SpPolicy:
    """What the IdP knows about one SP (from the app record)."""

    sp_entity_id: str
    acs_urls: Sequence[str]
    sp_certificate: str | None = None  # PEM; when set, requests must be signed with it
    # Our own SSO / SLO URLs as the SP may put them in Destination (any of them is fine).
    # Empty: Destination is not checked.
    destinations: Sequence[str] = ()


@dataclass(frozen=True)
class AuthnRequest:
    id: str
    issuer: str
    acs_url: str  # the registered ACS URL to answer to
    issue_instant: datetime
    force_authn: bool
    is_passive: bool
    relay_state: str | None
    binding: str
    signed: bool
    destination: str | None = None
    nameid_policy_format: str | None = None
    allow_create: bool | None = None
    requested_authn_contexts: tuple[str, ...] = field(default_factory=tuple)  # AuthnContextClassRef values
    requested_authn_comparison: str | None = None  # exact (the default) | minimum | maximum | better; None: nothing asked
    requested_authn_decl_refs: tuple[str, ...] = field(default_factory=tuple)
    provider_name: str | None = None


def _check_destination(destination: str | None, allowed: Iterable[str]) -> None:
    allowed = [a for a in allowed if a]
    if destination is None or not allowed:
        return
    from onelogin.saml2.utils import OneLogin_Saml2_Utils as U

    norm = U.normalize_url(destination)
    if not any(norm == U.normalize_url(a) for a in allowed):
        raise SamlRequestError(
            "wrong_destination",
            f"the request's Destination {destination!r} is not this IdP's SSO URL",
        )


def _select_acs(root: etree._Element, sp: SpPolicy) -> str:
    registered = [u for u in sp.acs_urls if u]
    given = root.get("AssertionConsumerServiceURL")
    index = root.get("AssertionConsumerServiceIndex")
    if given is not None and index is not None:
        raise SamlRequestError("malformed", "AssertionConsumerServiceURL and AssertionConsumerServiceIndex are mutually exclusive")
    if not registered:
        raise SamlRequestError("acs_not_registered", "this application has no registered ACS URL")
    if given is not None:
        for url in registered:
            if url == given:  # exact match: no prefix, wildcard or case folding
                return url
        raise SamlRequestError(
            "acs_not_registered",
            f"the ACS URL {given!r} is not registered for this application",
        )
    if index is not None:
        try:
            i = int(index)
        except ValueError:
            raise SamlRequestError("malformed", f"AssertionConsumerServiceIndex {index!r} is not a number") from None
        if 0 <= i < len(registered):
            return registered[i]
        raise SamlRequestError(
            "acs_not_registered",
            f"AssertionConsumerServiceIndex {i} does not name a registered ACS URL (this application has {len(registered)})",
        )
    return registered[0]


def _parse(
    msg: B.InboundMessage,
    sp: SpPolicy,
    *,
    now: datetime | None,
    seen: Callable[[str], bool] | None,
) -> AuthnRequest:
    root = msg.root
    req_id, instant = B.request_header(root, "AuthnRequest", sp.sp_entity_id)
    issuer = sp.sp_entity_id  # request_header checked they are equal

    signed = B.verify_signature(msg, sp.sp_certificate)

    destination = root.get("Destination")
    _check_destination(destination, sp.destinations)

    protocol_binding = root.get("ProtocolBinding")
    if protocol_binding is not None and protocol_binding != C.BINDING_POST:
        raise SamlRequestError(
            "unsupported_binding",
            f"ProtocolBinding {protocol_binding!r} is not supported; this IdP answers with HTTP-POST",
        )

    acs_url = _select_acs(root, sp)

    now = now or B.utcnow()
    skew = (now - instant).total_seconds()
    if abs(skew) > MAX_CLOCK_SKEW.total_seconds():
        when = "old" if skew > 0 else "in the future"
        raise SamlRequestError(
            "expired",
            f"the AuthnRequest IssueInstant is {abs(int(skew))} s {when}; at most {int(MAX_CLOCK_SKEW.total_seconds())} s is accepted",
        )

    relay_state = B.check_relay_state(msg.relay_state)

    policy = root.find(f"{{{C.NS_SAMLP}}}NameIDPolicy")
    nameid_format = policy.get("Format") if policy is not None else None
    allow_create = None
    if policy is not None and policy.get("AllowCreate") is not None:
        allow_create = B.parse_bool(policy.get("AllowCreate"), "AllowCreate")
    requested = root.find(f"{{{C.NS_SAMLP}}}RequestedAuthnContext")
    contexts = tuple((n.text or "").strip() for n in root.iterfind(f"{{{C.NS_SAMLP}}}RequestedAuthnContext/{{{C.NS_SAML}}}AuthnContextClassRef"))
    decl_refs = tuple((n.text or "").strip() for n in root.iterfind(f"{{{C.NS_SAMLP}}}RequestedAuthnContext/{{{C.NS_SAML}}}AuthnContextDeclRef"))
    comparison = (requested.get("Comparison") or "exact") if requested is not None else None

    if seen is not None and seen(req_id):
        raise SamlRequestError("replayed", f"the AuthnRequest {req_id} was already used; start the sign-in again from the application")

    return AuthnRequest(
        id=req_id,
        issuer=issuer,
        acs_url=acs_url,
        issue_instant=instant,
        force_authn=B.parse_bool(root.get("ForceAuthn"), "ForceAuthn"),
        is_passive=B.parse_bool(root.get("IsPassive"), "IsPassive"),
        relay_state=relay_state,
        binding=msg.binding,
        signed=signed,
        destination=destination,
        nameid_policy_format=nameid_format,
        allow_create=allow_create,
        requested_authn_contexts=contexts,
        requested_authn_comparison=comparison,
        requested_authn_decl_refs=decl_refs,
        provider_name=root.get("ProviderName"),
    )


def parse_redirect(
    raw_query: str,
    sp: SpPolicy,
    *,
    now: datetime | None = None,
    seen: Callable[[str], bool] | None = None,
) -> AuthnRequest:
    """HTTP-Redirect binding. ``raw_query`` is the query string exactly as received."""
    return _parse(B.decode_redirect(raw_query, "SAMLRequest"), sp, now=now, seen=seen)


def parse_post(
    form: Mapping[str, str],
    sp: SpPolicy,
    *,
    now: datetime | None = None,
    seen: Callable[[str], bool] | None = None,
) -> AuthnRequest:
    """HTTP-POST binding. ``form`` holds the decoded form fields (SAMLRequest, RelayState)."""
    return _parse(B.decode_post(form, "SAMLRequest"), sp, now=now, seen=seen)


def parse_authn_request(
    binding: str,
    sp: SpPolicy,
    *,
    raw_query: str | None = None,
    form: Mapping[str, str] | None = None,
    now: datetime | None = None,
    seen: Callable[[str], bool] | None = None,
) -> AuthnRequest:
    """Dispatch on ``binding`` (``"redirect"``/``"post"`` or the binding URN)."""
    if binding in ("redirect", C.BINDING_REDIRECT):
        return parse_redirect(raw_query or "", sp, now=now, seen=seen)
    if binding in ("post", C.BINDING_POST):
        return parse_post(form or {}, sp, now=now, seen=seen)
    raise ValueError(f"unknown binding {binding!r}")


def peek_issuer(*, raw_query: str | None = None, form: Mapping[str, str] | None = None) -> str | None:
    """Best-effort Issuer of an inbound request, for log lines only (never for decisions)."""
    try:
        msg = B.decode_redirect(raw_query, "SAMLRequest") if raw_query is not None else B.decode_post(form or {}, "SAMLRequest")
        return B.child_text(msg.root, C.NS_SAML, "Issuer")
    except SamlRequestError:
        return None
