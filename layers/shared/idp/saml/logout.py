"""SP-initiated Single Logout, pure: parse and check a LogoutRequest (the same hardening as an
AuthnRequest: size caps, no DTDs, Issuer, signature when the app holds an SP certificate, clock skew,
replay when a ``seen`` check is given) and build the signed LogoutResponse (POST or Redirect binding)."""

from __future__ import annotations

import base64
import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable, Mapping
from urllib.parse import quote_plus

from lxml import etree

from idp.saml import binding as B
from idp.saml import constants as C
from idp.saml.authn_request import MAX_CLOCK_SKEW, SpPolicy, _check_destination
from idp.saml.errors import SamlRequestError
from idp.saml.response import _now, _response_root, _status
from idp.saml.signing import SigningKey, load_key, sign_element


@dataclass(frozen=True)
class LogoutRequest:
    id: str
    issuer: str
    nameid: str | None
    nameid_format: str | None
    session_indexes: tuple[str, ...]
    issue_instant: datetime
    not_on_or_after: datetime | None
    relay_state: str | None
    binding: str
    signed: bool
    destination: str | None = None
    reason: str | None = None


def _parse(
    msg: B.InboundMessage,
    sp: SpPolicy,
    *,
    now: datetime | None,
    seen: Callable[[str], bool] | None,
) -> LogoutRequest:
    root = msg.root
    req_id, instant = B.request_header(root, "LogoutRequest", sp.sp_entity_id)
    issuer = sp.sp_entity_id  # request_header checked they are equal
    try:
        nooa = B.parse_instant(root.get("NotOnOrAfter")) if root.get("NotOnOrAfter") else None
    except ValueError:
        raise SamlRequestError("malformed", "the LogoutRequest has an invalid NotOnOrAfter") from None
    signed = B.verify_signature(msg, sp.sp_certificate)
    destination = root.get("Destination")
    _check_destination(destination, sp.destinations)

    now = now or B.utcnow()
    skew = (now - instant).total_seconds()
    if abs(skew) > MAX_CLOCK_SKEW.total_seconds():
        raise SamlRequestError("expired", f"the LogoutRequest IssueInstant is {abs(int(skew))} s off our clock")
    if nooa is not None and now >= nooa + timedelta(seconds=60):
        raise SamlRequestError("expired", "the LogoutRequest NotOnOrAfter has passed")

    nameid_el = root.find(f"{{{C.NS_SAML}}}NameID")
    nameid = B.child_text(root, C.NS_SAML, "NameID")
    nameid_format = nameid_el.get("Format") if nameid_el is not None else None
    indexes = tuple(
        (e.text or "").strip() for e in root.iterfind(f"{{{C.NS_SAMLP}}}SessionIndex") if (e.text or "").strip()
    )
    if seen is not None and seen(req_id):
        raise SamlRequestError("replayed", f"the LogoutRequest {req_id} was already used")
    return LogoutRequest(
        id=req_id,
        issuer=issuer,
        nameid=nameid,
        nameid_format=nameid_format,
        session_indexes=indexes,
        issue_instant=instant,
        not_on_or_after=nooa,
        relay_state=msg.relay_state,
        binding=msg.binding,
        signed=signed,
        destination=destination,
        reason=root.get("Reason"),
    )


def parse_logout_redirect(raw_query: str, sp: SpPolicy, *, now: datetime | None = None,
                          seen: Callable[[str], bool] | None = None) -> LogoutRequest:
    return _parse(B.decode_redirect(raw_query, "SAMLRequest"), sp, now=now, seen=seen)


def parse_logout_post(form: Mapping[str, str], sp: SpPolicy, *, now: datetime | None = None,
                      seen: Callable[[str], bool] | None = None) -> LogoutRequest:
    return _parse(B.decode_post(form, "SAMLRequest"), sp, now=now, seen=seen)


def build_logout_response_xml(
    *,
    idp_entity_id: str,
    destination: str,
    in_response_to: str | None,
    key: SigningKey | None,
    status_code: str = C.STATUS_SUCCESS,
    message: str | None = None,
    now: datetime | None = None,
) -> bytes:
    r = _response_root(idp_entity_id, destination, in_response_to, _now(now), tag="LogoutResponse")
    _status(r, status_code, message=message)
    if key is not None:
        sign_element(r, key)
    return etree.tostring(r, encoding="UTF-8")


def build_logout_response(
    *,
    idp_entity_id: str,
    destination: str,
    in_response_to: str | None,
    key: SigningKey,
    status_code: str = C.STATUS_SUCCESS,
    message: str | None = None,
    now: datetime | None = None,
) -> str:
    """A signed LogoutResponse, base64 (HTTP-POST binding form value); ``message`` says why when not Success."""
    xml = build_logout_response_xml(
        idp_entity_id=idp_entity_id,
        destination=destination,
        in_response_to=in_response_to,
        key=key,
        status_code=status_code,
        message=message,
        now=now,
    )
    return base64.b64encode(xml).decode("ascii")


def build_logout_response_redirect_url(
    *,
    idp_entity_id: str,
    destination: str,
    in_response_to: str | None,
    key: SigningKey,
    relay_state: str | None = None,
    status_code: str = C.STATUS_SUCCESS,
    message: str | None = None,
    now: datetime | None = None,
) -> str:
    """HTTP-Redirect binding: ``destination?SAMLResponse=..&RelayState=..&SigAlg=..&Signature=..``."""
    import xmlsec

    xml = build_logout_response_xml(
        idp_entity_id=idp_entity_id,
        destination=destination,
        in_response_to=in_response_to,
        key=None,
        status_code=status_code,
        message=message,
        now=now,
    )
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    deflated = c.compress(xml) + c.flush()
    parts = [("SAMLResponse", base64.b64encode(deflated).decode())]
    if relay_state:
        parts.append(("RelayState", relay_state))
    parts.append(("SigAlg", C.RSA_SHA256))
    query = "&".join(f"{k}={quote_plus(v)}" for k, v in parts)
    ctx = xmlsec.SignatureContext()
    ctx.key = load_key(key)
    sig = ctx.sign_binary(query.encode(), xmlsec.constants.TransformRsaSha256)
    query += "&Signature=" + quote_plus(base64.b64encode(sig).decode())
    sep = "&" if "?" in destination else "?"
    return destination + sep + query
