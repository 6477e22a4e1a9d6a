"""Inbound SAML message decoding for the HTTP-Redirect and HTTP-POST bindings, shared by
authn_request and logout: size-capped decoding, a hardened XML parse, and signature checks
(Redirect over the raw query octets, POST enveloped), each refusal a SamlRequestError."""

from __future__ import annotations

import base64
import binascii
import re
import secrets
import zlib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import Mapping, TypeGuard
from urllib.parse import unquote_plus

import xmlsec
from lxml import etree
from onelogin.saml2.utils import OneLogin_Saml2_Utils
from onelogin.saml2.xml_utils import OneLogin_Saml2_XML

from idp.saml import constants as C
from idp.saml.errors import SamlRequestError

# Hardening:
# - the encoded parameter and the inflated XML are size-capped (deflate bombs are refused);
# - XML is parsed with python3-saml's parser, which refuses DTDs and entity declarations;
# - Redirect signatures are verified over the *raw* query octets as received
#   (SAMLRequest=..&RelayState=..&SigAlg=..), never re-encoded; a query with only one of Signature /
#   SigAlg is refused (inconsistent_request) whether or not the app checks signatures;
# - POST (enveloped) signatures must be the root's only ds:Signature, a direct child of the root, with
#   exactly one Reference whose URI is # + the root's ID and only the enveloped / exclusive-c14n
#   transforms; SHA-1 is refused for signatures and digests.

#: Largest accepted encoded SAMLRequest / SAMLResponse parameter (characters).
MAX_ENCODED_CHARS = 100_000
#: Largest accepted XML after base64 decoding and inflating (bytes).
MAX_XML_BYTES = 200_000
#: RelayState limit from SAML Bindings 3.4.3 / 3.5.3.
MAX_RELAY_STATE_BYTES = 80

_SIG_TRANSFORMS = {
    C.RSA_SHA256: xmlsec.constants.TransformRsaSha256,
    C.RSA_SHA384: xmlsec.constants.TransformRsaSha384,
    C.RSA_SHA512: xmlsec.constants.TransformRsaSha512,
    C.ECDSA_SHA256: xmlsec.constants.TransformEcdsaSha256,
    C.ECDSA_SHA384: xmlsec.constants.TransformEcdsaSha384,
    C.ECDSA_SHA512: xmlsec.constants.TransformEcdsaSha512,
}
_DIGESTS = {C.SHA256, C.SHA384, C.SHA512}
_C14N_METHODS = {
    C.EXC_C14N,
    "http://www.w3.org/TR/2001/REC-xml-c14n-20010315",
    "http://www.w3.org/2006/12/xml-c14n11",
}
_REF_TRANSFORMS = {C.ENVELOPED} | _C14N_METHODS

_NCNAME = re.compile(r"^[A-Za-z_][A-Za-z0-9._-]{0,255}$")
_INSTANT = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]00:00)?$"
)


# --------------------------------------------------------------------------- time & ids


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def format_instant(dt: datetime) -> str:
    """Whole-second UTC ``xs:dateTime`` with a ``Z``."""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_instant(value: str | None) -> datetime:
    """Parse a SAML timestamp (UTC). Raises ValueError."""
    m = _INSTANT.match((value or "").strip())
    if not m:
        raise ValueError(f"not a SAML UTC timestamp: {value!r}")
    y, mo, d, h, mi, s, frac, _tz = m.groups()
    micro = int((frac or "0")[:6].ljust(6, "0"))
    return datetime(int(y), int(mo), int(d), int(h), int(mi), int(s), micro, tzinfo=timezone.utc)


def new_id() -> str:
    """A SAML ID: ``_`` + 40 hex chars (an NCName never starts with a digit)."""
    return "_" + secrets.token_hex(20)


def is_valid_id(value: str | None) -> TypeGuard[str]:
    return value is not None and bool(_NCNAME.match(value))


# --------------------------------------------------------------------------- decoding


def b64decode_strict(value: str, what: str = "SAMLRequest") -> bytes:
    if len(value) > MAX_ENCODED_CHARS:
        raise SamlRequestError("malformed", f"{what} is too large ({len(value)} characters, limit {MAX_ENCODED_CHARS})")
    cleaned = re.sub(r"\s+", "", value)
    try:
        return base64.b64decode(cleaned, validate=True)
    except (binascii.Error, ValueError):
        raise SamlRequestError("malformed", f"{what} is not valid base64") from None


def inflate_capped(data: bytes, limit: int = MAX_XML_BYTES, what: str = "SAMLRequest") -> bytes:
    """Raw-DEFLATE decode with an output cap; a bomb or trailing garbage is refused."""
    d = zlib.decompressobj(-15)
    try:
        out = d.decompress(data, limit)
    except zlib.error:
        raise SamlRequestError("malformed", f"{what} is not DEFLATE-compressed (HTTP-Redirect binding)") from None
    if d.unconsumed_tail:
        raise SamlRequestError("malformed", f"{what} inflates to more than {limit} bytes")
    if not d.eof:
        raise SamlRequestError("malformed", f"{what} is a truncated DEFLATE stream")
    if d.unused_data:
        raise SamlRequestError("malformed", f"{what} has trailing data after the DEFLATE stream")
    return out


def parse_xml(data: bytes, what: str = "SAMLRequest") -> etree._Element:
    if len(data) > MAX_XML_BYTES:
        raise SamlRequestError("malformed", f"{what} XML is larger than {MAX_XML_BYTES} bytes")
    try:
        root: etree._Element | None = OneLogin_Saml2_XML.to_etree(data)
    except Exception as exc:  # noqa: BLE001 - DTDForbidden, EntitiesForbidden, XMLSyntaxError, ...: all are malformed input (a 4xx)
        name = type(exc).__name__
        if "DTD" in name or "Entit" in name:
            raise SamlRequestError("malformed", f"{what} contains a DOCTYPE or entity declaration, which is refused") from None
        raise SamlRequestError("malformed", f"{what} is not well-formed XML ({name})") from None
    if root is None or not isinstance(root.tag, str):
        raise SamlRequestError("malformed", f"{what} has no XML root element")
    return root


@lru_cache(maxsize=1)
def _protocol_schema() -> etree.XMLSchema:
    import onelogin.saml2 as _pkg

    path = Path(_pkg.__file__).parent / "schemas" / "saml-schema-protocol-2.0.xsd"
    with open(path, "rb") as fh:
        return etree.XMLSchema(etree.parse(fh))


def validate_protocol_schema(root: etree._Element, what: str) -> None:
    schema = _protocol_schema()
    if not schema.validate(root):
        err = schema.error_log.last_error
        detail = err.message if err is not None else "schema validation failed"
        raise SamlRequestError("malformed", f"{what} does not match the SAML 2.0 protocol schema: {detail}")


def split_raw_query(raw_query: str) -> dict[str, str]:
    """Split a raw query string into ``name -> raw (still percent-encoded) value``.

    Names are decoded; values are kept exactly as received so signatures can be
    verified over the original octets. A repeated SAML parameter is refused.
    """
    out: dict[str, str] = {}
    if raw_query.startswith("?"):
        raw_query = raw_query[1:]
    for part in raw_query.split("&"):
        if not part:
            continue
        name, _, value = part.partition("=")
        name = unquote_plus(name)
        if name in out and name in {"SAMLRequest", "SAMLResponse", "RelayState", "SigAlg", "Signature"}:
            raise SamlRequestError("malformed", f"query parameter {name} appears more than once")
        out.setdefault(name, value)
    return out


def query_names(raw_query: str) -> set[str]:
    """The parameter names of a raw query (a repeated one counts as SAMLRequest, for the parser to refuse)."""
    try:
        return set(split_raw_query(raw_query))
    except SamlRequestError:
        return {"SAMLRequest"}


def inbound_binding(method: str, raw_query: str, form: Mapping[str, str]) -> str | None:
    """The binding of a request's SAMLRequest (HTTP-Redirect: a GET's query; HTTP-POST: a POST's body), or None
    when it carries none. One in both places, or in the query of a POST, is refused, never guessed at."""
    in_query = "SAMLRequest" in query_names(raw_query)
    in_body = method == "POST" and "SAMLRequest" in form
    if in_query and in_body:
        raise SamlRequestError("inconsistent_request", "SAMLRequest is in both the query string and the body; "
                               "send it once (HTTP-Redirect: in the query of a GET; HTTP-POST: in the body of a POST)")
    if in_query and method != "GET":
        raise SamlRequestError("inconsistent_request", "a SAMLRequest in the query string must come with GET "
                               "(HTTP-Redirect binding); a POST carries it in its body (HTTP-POST binding)")
    if in_body:
        return C.BINDING_POST
    return C.BINDING_REDIRECT if in_query else None


def check_relay_state(relay_state: str | None) -> str | None:
    if relay_state is None:
        return None
    if len(relay_state.encode("utf-8")) > MAX_RELAY_STATE_BYTES:
        raise SamlRequestError(
            "relay_state_too_long",
            f"RelayState is {len(relay_state.encode('utf-8'))} bytes; SAML allows at most {MAX_RELAY_STATE_BYTES}",
        )
    return relay_state


@dataclass
class InboundMessage:
    """A decoded, parsed, not yet authenticated SAML protocol message."""

    binding: str  # C.BINDING_REDIRECT or C.BINDING_POST
    param: str  # "SAMLRequest" or "SAMLResponse"
    xml: bytes
    root: etree._Element
    relay_state: str | None
    # Redirect binding: raw query values (for the detached signature)
    raw_params: dict[str, str] = field(default_factory=dict)

    @property
    def has_signature(self) -> bool:
        if self.binding == C.BINDING_REDIRECT:
            return "Signature" in self.raw_params or "SigAlg" in self.raw_params
        return self.root.find(f"{{{C.NS_DS}}}Signature") is not None


def decode_redirect(raw_query: str, param: str = "SAMLRequest") -> InboundMessage:
    raw = split_raw_query(raw_query or "")
    if param not in raw or not raw[param]:
        raise SamlRequestError("malformed", f"the query string has no {param} parameter")
    if ("Signature" in raw) != ("SigAlg" in raw):  # half a signature is refused, never ignored
        has, lacks = ("Signature", "SigAlg") if "Signature" in raw else ("SigAlg", "Signature")
        raise SamlRequestError("inconsistent_request", f"the query string carries {has} without {lacks}; "
                               "a signed HTTP-Redirect request needs both, an unsigned one neither")
    value = unquote_plus(raw[param])
    xml = inflate_capped(b64decode_strict(value, param), what=param)
    root = parse_xml(xml, param)
    relay = unquote_plus(raw["RelayState"]) if "RelayState" in raw else None
    return InboundMessage(C.BINDING_REDIRECT, param, xml, root, check_relay_state(relay), raw)


def decode_post(form: Mapping[str, str], param: str = "SAMLRequest") -> InboundMessage:
    value = form.get(param)
    if not value:
        raise SamlRequestError("malformed", f"the form has no {param} field")
    xml = b64decode_strict(value, param)
    if len(xml) > MAX_XML_BYTES:
        raise SamlRequestError("malformed", f"{param} XML is larger than {MAX_XML_BYTES} bytes")
    root = parse_xml(xml, param)
    relay = form.get("RelayState")
    return InboundMessage(C.BINDING_POST, param, xml, root, check_relay_state(relay or None))


# --------------------------------------------------------------------------- signatures


def _refuse_algorithm(alg: str | None, kind: str) -> None:
    if alg in C.DEPRECATED_ALGORITHMS:
        raise SamlRequestError("bad_signature", f"the {kind} algorithm {alg} uses SHA-1, which is refused; use RSA-SHA256")


def verify_redirect_signature(msg: InboundMessage, certificate_pem: str) -> None:
    raw = msg.raw_params
    if "Signature" not in raw or "SigAlg" not in raw:
        raise SamlRequestError("signature_required", "the request is not signed (no Signature/SigAlg query parameters) but this application requires signed requests")
    sig_alg = unquote_plus(raw["SigAlg"])
    _refuse_algorithm(sig_alg, "signature")
    transform = _SIG_TRANSFORMS.get(sig_alg)
    if transform is None:
        raise SamlRequestError("bad_signature", f"unsupported SigAlg {sig_alg!r}")
    signed = "&".join(f"{k}={raw[k]}" for k in (msg.param, "RelayState", "SigAlg") if k in raw)
    try:
        signature = base64.b64decode(re.sub(r"\s+", "", unquote_plus(raw["Signature"])), validate=True)
    except (binascii.Error, ValueError):
        raise SamlRequestError("bad_signature", "the Signature parameter is not valid base64") from None
    try:
        ctx = xmlsec.SignatureContext()
        ctx.key = xmlsec.Key.from_memory(certificate_pem, xmlsec.constants.KeyDataFormatCertPem, None)
        ctx.verify_binary(signed.encode("ascii", "strict"), transform, signature)
    except (xmlsec.Error, UnicodeEncodeError):
        raise SamlRequestError("bad_signature", "the request signature does not verify with the SP certificate registered for this application") from None


def verify_enveloped_signature(msg: InboundMessage, certificate_pem: str) -> None:
    root = msg.root
    ds = f"{{{C.NS_DS}}}"
    all_sigs = list(root.iter(f"{ds}Signature"))
    direct = root.findall(f"{ds}Signature")
    if not all_sigs:
        raise SamlRequestError("signature_required", "the request is not signed (no ds:Signature) but this application requires signed requests")
    if len(all_sigs) != 1 or len(direct) != 1:
        raise SamlRequestError("bad_signature", "the request must carry exactly one ds:Signature, as a direct child of its root element")
    sig = direct[0]
    root_id = root.get("ID")
    signed_info = sig.find(f"{ds}SignedInfo")
    if signed_info is None:
        raise SamlRequestError("bad_signature", "ds:Signature has no SignedInfo")
    c14n = signed_info.find(f"{ds}CanonicalizationMethod")
    if c14n is None or c14n.get("Algorithm") not in _C14N_METHODS:
        raise SamlRequestError("bad_signature", "unsupported CanonicalizationMethod")
    method = signed_info.find(f"{ds}SignatureMethod")
    alg = method.get("Algorithm") if method is not None else None
    _refuse_algorithm(alg, "signature")
    if alg not in _SIG_TRANSFORMS:
        raise SamlRequestError("bad_signature", f"unsupported SignatureMethod {alg!r}")
    refs = signed_info.findall(f"{ds}Reference")
    if len(refs) != 1:
        raise SamlRequestError("bad_signature", "the signature must have exactly one Reference")
    ref = refs[0]
    if not root_id or ref.get("URI") != "#" + root_id:
        raise SamlRequestError("bad_signature", "the signature Reference does not point at the message's own ID")
    for t in ref.iterfind(f"{ds}Transforms/{ds}Transform"):
        if t.get("Algorithm") not in _REF_TRANSFORMS:
            raise SamlRequestError("bad_signature", f"unsupported signature transform {t.get('Algorithm')!r}")
    digest = ref.find(f"{ds}DigestMethod")
    dalg = digest.get("Algorithm") if digest is not None else None
    _refuse_algorithm(dalg, "digest")
    if dalg not in _DIGESTS:
        raise SamlRequestError("bad_signature", f"unsupported DigestMethod {dalg!r}")
    local = etree.QName(root).localname
    ok = OneLogin_Saml2_Utils.validate_sign(
        root, certificate_pem, xpath=f"/samlp:{local}/ds:Signature", raise_exceptions=False
    )
    if not ok:
        raise SamlRequestError("bad_signature", "the request signature does not verify with the SP certificate registered for this application")


def verify_signature(msg: InboundMessage, certificate_pem: str | None) -> bool:
    """Verify the message signature when the app holds an SP certificate.

    Returns True when a signature was verified, False when no certificate is configured
    (any signature is then ignored). Raises ``signature_required`` / ``bad_signature``.
    """
    if not certificate_pem:
        return False
    if msg.binding == C.BINDING_REDIRECT:
        verify_redirect_signature(msg, certificate_pem)
    else:
        verify_enveloped_signature(msg, certificate_pem)
    return True


# --------------------------------------------------------------------------- small readers


def child_text(parent: etree._Element, ns: str, local: str) -> str | None:
    node = parent.find(f"{{{ns}}}{local}")
    if node is None:
        return None
    if len(node):  # child elements (or comments) inside a simple text value: refuse
        raise SamlRequestError("malformed", f"{local} must hold plain text")
    return (node.text or "").strip()


def parse_bool(value: str | None, name: str) -> bool:
    if value is None:
        return False
    v = value.strip()
    if v in ("true", "1"):
        return True
    if v in ("false", "0"):
        return False
    raise SamlRequestError("malformed", f"{name} must be true or false, not {value!r}")


def request_header(root: etree._Element, kind: str, sp_entity_id: str) -> tuple[str, datetime]:
    """Check what every SP request shares (element, Version, ID, IssueInstant, schema, Issuer)
    and return its ID and IssueInstant; `kind` is the local name, e.g. "AuthnRequest"."""
    if root.tag != f"{{{C.NS_SAMLP}}}{kind}":
        raise SamlRequestError("malformed", f"expected a samlp:{kind}, got {root.tag!r}")
    if root.get("Version") != "2.0":
        raise SamlRequestError("malformed", f"the {kind} Version must be 2.0")
    req_id = root.get("ID")
    if not is_valid_id(req_id):
        raise SamlRequestError("malformed", f"the {kind} has no valid ID")
    try:
        instant = parse_instant(root.get("IssueInstant"))
    except ValueError:
        raise SamlRequestError("malformed", f"the {kind} has no valid IssueInstant") from None
    validate_protocol_schema(root, f"the {kind}")
    issuer = child_text(root, C.NS_SAML, "Issuer")
    if not issuer:
        raise SamlRequestError("unknown_sp", f"the {kind} has no Issuer; expected this application's SP entity ID")
    if issuer != sp_entity_id:
        raise SamlRequestError(
            "unknown_sp", f"the {kind} Issuer {issuer!r} is not the SP entity ID registered for this application")
    return req_id, instant
