"""Build signed SAML Responses the way strict SPs (python3-saml, pysaml2) accept them: the Assertion
signed first and then the Response (by ``sign``), each signature right after its Issuer, bearer
SubjectConfirmation, short Conditions, AuthnStatement and AttributeStatement; and status-only
Responses (e.g. NoPassive)."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Iterable, Mapping, Sequence

from lxml import etree

from idp.saml import binding as B
from idp.saml import constants as C
from idp.saml.signing import SigningKey, sign_element

# Layout (reference/saml_anchors.md §3):
#   samlp:Response  ID Version IssueInstant Destination=ACS [InResponseTo]
#     saml:Issuer
#     ds:Signature            (sign = response | both)
#     samlp:Status/StatusCode Success
#     saml:Assertion ID Version IssueInstant
#       saml:Issuer
#       ds:Signature          (sign = assertion | both)
#       saml:Subject/NameID + SubjectConfirmation(bearer)/Data NotOnOrAfter Recipient [InResponseTo]
#       saml:Conditions NotBefore NotOnOrAfter / AudienceRestriction/Audience
#       saml:AuthnStatement AuthnInstant SessionIndex SessionNotOnOrAfter / PasswordProtectedTransport
#       saml:AttributeStatement

SIGN_MODES = ("both", "assertion", "response")

#: Conditions/NotBefore lies this far in the past (absorbs SP clock skew).
NOT_BEFORE_SKEW = timedelta(seconds=120)
#: Lifetime of the assertion (Conditions/NotOnOrAfter and SubjectConfirmationData/NotOnOrAfter).
ASSERTION_LIFETIME = timedelta(minutes=5)
#: Default SessionNotOnOrAfter when the caller gives none.
DEFAULT_SESSION_LIFETIME = timedelta(hours=8)

_NSMAP = {"samlp": C.NS_SAMLP, "saml": C.NS_SAML}


@dataclass(frozen=True)
class ResponseParams:
    idp_entity_id: str
    acs_url: str
    sp_entity_id: str
    nameid: str
    nameid_format: str = C.NAMEID_EMAIL
    attributes: Mapping[str, Sequence[str] | str | None] = field(default_factory=dict)
    session_index: str = ""
    authn_instant: datetime | None = None
    in_response_to: str | None = None  # None: IdP-initiated
    sign: str = "both"
    session_not_on_or_after: datetime | None = None
    now: datetime | None = None  # injectable clock
    assertion_lifetime: timedelta = ASSERTION_LIFETIME
    authn_context: str = C.AC_PASSWORD_PROTECTED_TRANSPORT


def _el(parent: etree._Element, ns: str, local: str, text: str | None = None, **attrs: str | None) -> etree._Element:
    e = etree.SubElement(parent, f"{{{ns}}}{local}")
    for k, v in attrs.items():
        if v is not None:
            e.set(k, v)
    if text is not None:
        e.text = text
    return e


def _values(v: object) -> list[str]:
    if v is None:
        return []
    items: Iterable[object] = v if isinstance(v, Iterable) and not isinstance(v, (str, bytes)) else [v]
    out = []
    for item in items:
        if item is None:
            continue
        out.append(item.decode() if isinstance(item, bytes) else str(item))
    return out


def _attr_name_format(name: str) -> str:
    return C.ATTRNAME_URI if (":" in name or "/" in name) else C.ATTRNAME_BASIC


def build_assertion(p: ResponseParams, now: datetime, assertion_id: str | None = None) -> etree._Element:
    fi = B.format_instant
    authn_instant = p.authn_instant or now
    session_end = p.session_not_on_or_after or (authn_instant + DEFAULT_SESSION_LIFETIME)
    expires = now + p.assertion_lifetime

    a = etree.Element(
        f"{{{C.NS_SAML}}}Assertion",
        nsmap={"saml": C.NS_SAML, "xs": C.NS_XS, "xsi": C.NS_XSI},
    )
    a.set("ID", assertion_id or B.new_id())
    a.set("Version", "2.0")
    a.set("IssueInstant", fi(now))
    _el(a, C.NS_SAML, "Issuer", p.idp_entity_id)

    subject = _el(a, C.NS_SAML, "Subject")
    _el(subject, C.NS_SAML, "NameID", p.nameid, Format=p.nameid_format)
    sc = _el(subject, C.NS_SAML, "SubjectConfirmation", Method=C.CM_BEARER)
    _el(
        sc,
        C.NS_SAML,
        "SubjectConfirmationData",
        NotOnOrAfter=fi(expires),
        Recipient=p.acs_url,
        InResponseTo=p.in_response_to,
    )

    cond = _el(a, C.NS_SAML, "Conditions", NotBefore=fi(now - NOT_BEFORE_SKEW), NotOnOrAfter=fi(expires))
    ar = _el(cond, C.NS_SAML, "AudienceRestriction")
    _el(ar, C.NS_SAML, "Audience", p.sp_entity_id)

    st = _el(
        a,
        C.NS_SAML,
        "AuthnStatement",
        AuthnInstant=fi(authn_instant),
        SessionIndex=p.session_index or None,
        SessionNotOnOrAfter=fi(session_end),
    )
    ctx = _el(st, C.NS_SAML, "AuthnContext")
    _el(ctx, C.NS_SAML, "AuthnContextClassRef", p.authn_context)

    attrs = [(name, _values(v)) for name, v in (p.attributes or {}).items()]
    attrs = [(n, vs) for n, vs in attrs if vs]
    if attrs:
        stmt = _el(a, C.NS_SAML, "AttributeStatement")
        for name, vs in attrs:
            attr = _el(stmt, C.NS_SAML, "Attribute", Name=name, NameFormat=_attr_name_format(name))
            for v in vs:
                av = _el(attr, C.NS_SAML, "AttributeValue", v)
                av.set(f"{{{C.NS_XSI}}}type", "xs:string")
    return a


def _response_root(
    idp_entity_id: str,
    destination: str,
    in_response_to: str | None,
    now: datetime,
    tag: str = "Response",
) -> etree._Element:
    r = etree.Element(f"{{{C.NS_SAMLP}}}{tag}", nsmap=_NSMAP)
    r.set("ID", B.new_id())
    r.set("Version", "2.0")
    r.set("IssueInstant", B.format_instant(now))
    r.set("Destination", destination)
    if in_response_to:
        r.set("InResponseTo", in_response_to)
    _el(r, C.NS_SAML, "Issuer", idp_entity_id)
    return r


def _status(parent: etree._Element, code: str, sub_code: str | None = None, message: str | None = None) -> None:
    status = _el(parent, C.NS_SAMLP, "Status")
    sc = _el(status, C.NS_SAMLP, "StatusCode", Value=code)
    if sub_code:
        _el(sc, C.NS_SAMLP, "StatusCode", Value=sub_code)
    if message:
        _el(status, C.NS_SAMLP, "StatusMessage", message)


def _now(p_now: datetime | None) -> datetime:
    now = p_now or B.utcnow()
    if now.tzinfo is None:
        now = now.replace(tzinfo=timezone.utc)
    return now.astimezone(timezone.utc).replace(microsecond=0)


def build_response_xml(p: ResponseParams, key: SigningKey) -> bytes:
    """The signed Response as XML bytes."""
    if p.sign not in SIGN_MODES:
        raise ValueError(f"sign must be one of {SIGN_MODES}, not {p.sign!r}")
    if not p.nameid:
        raise ValueError("nameid is empty")
    now = _now(p.now)
    assertion = build_assertion(p, now)
    if p.sign in ("assertion", "both"):
        # Sign the assertion on its own document first (see the add_sign trap in FIELD_NOTES).
        sign_element(assertion, key)
    response = _response_root(p.idp_entity_id, p.acs_url, p.in_response_to, now)
    _status(response, C.STATUS_SUCCESS)
    response.append(assertion)
    if p.sign in ("response", "both"):
        sign_element(response, key)
    return etree.tostring(response, xml_declaration=False, encoding="UTF-8")


def build_response(p: ResponseParams, key: SigningKey) -> str:
    """The signed Response, base64-encoded (the SAMLResponse form value)."""
    return base64.b64encode(build_response_xml(p, key)).decode("ascii")


def build_status_response(
    *,
    idp_entity_id: str,
    acs_url: str,
    in_response_to: str | None,
    status_code: str,
    sub_status_code: str | None = None,
    message: str | None = None,
    key: SigningKey,
    now: datetime | None = None,
) -> str:
    """A signed Response without an assertion (e.g. Responder/NoPassive), base64-encoded."""
    r = _response_root(idp_entity_id, acs_url, in_response_to, _now(now))
    _status(r, status_code, sub_status_code, message)
    sign_element(r, key)
    return base64.b64encode(etree.tostring(r, encoding="UTF-8")).decode("ascii")
