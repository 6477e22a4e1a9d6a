"""An SP's SAML metadata read into the app's SP fields (the console's "fill from metadata"): entity ID,
the HTTP-POST AssertionConsumerService locations (by index), the SingleLogoutService location and the
signing certificate. Parsed with python3-saml's hardened parser (no DTD, no entities), size-capped."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lxml import etree

from idp.saml import constants as C
from idp.saml.binding import parse_xml
from idp.saml.errors import SamlRequestError


@dataclass(frozen=True)
class SpMetadata:
    entity_id: str
    acs_urls: tuple[str, ...]
    slo_url: str | None = None
    certificate: str | None = None  # the signing certificate, base64 body as in ds:X509Certificate


def _index(element: etree._Element) -> int:
    try:
        return int(element.get("index") or 0)
    except ValueError:
        return 0


def read_sp_metadata(xml: str) -> SpMetadata:
    """The SP fields of one EntityDescriptor with an SPSSODescriptor; SamlRequestError says what is missing."""
    root = parse_xml(xml.strip().encode("utf-8"), "the SP metadata")
    if root.tag == f"{{{C.NS_MD}}}EntitiesDescriptor":
        found = root.findall(f"{{{C.NS_MD}}}EntityDescriptor")
        if len(found) != 1:
            raise SamlRequestError("malformed", f"the SP metadata holds {len(found)} entities; paste the one of this SP")
        root = found[0]
    if root.tag != f"{{{C.NS_MD}}}EntityDescriptor":
        raise SamlRequestError("malformed", "the SP metadata's root is not an md:EntityDescriptor")
    entity_id = (root.get("entityID") or "").strip()
    sp = root.find(f"{{{C.NS_MD}}}SPSSODescriptor")
    if not entity_id or sp is None:
        raise SamlRequestError("malformed", "the SP metadata has no entityID or no SPSSODescriptor")
    services = sorted((e for e in sp.findall(f"{{{C.NS_MD}}}AssertionConsumerService")
                       if e.get("Binding") == C.BINDING_POST and e.get("Location")), key=_index)
    if not services:
        raise SamlRequestError("malformed", "the SP metadata names no AssertionConsumerService with the HTTP-POST binding")
    slo = next((e.get("Location") for e in sp.findall(f"{{{C.NS_MD}}}SingleLogoutService")
                if e.get("Location") and e.get("Binding") in (C.BINDING_POST, C.BINDING_REDIRECT)), None)
    certificate = None
    for descriptor in sp.findall(f"{{{C.NS_MD}}}KeyDescriptor"):
        if descriptor.get("use") in (None, "signing"):
            cert = descriptor.find(f".//{{{C.NS_DS}}}X509Certificate")
            if cert is not None and cert.text and cert.text.strip():
                certificate = "".join(cert.text.split())
                break
    return SpMetadata(entity_id, tuple((e.get("Location") or "").strip() for e in services)[:20], slo, certificate)
