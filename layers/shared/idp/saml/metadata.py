"""IdP metadata (EntityDescriptor / IDPSSODescriptor)."""

from __future__ import annotations

from typing import Iterable, Sequence

from lxml import etree

from idp.saml import constants as C
from idp.saml.pem import certificate_body

DEFAULT_NAMEID_FORMATS = (C.NAMEID_EMAIL, C.NAMEID_UNSPECIFIED)


def build_idp_metadata(
    entity_id: str,
    sso_url: str,
    slo_url: str | None,
    certificates: Sequence[str],
    nameid_formats: Iterable[str] = DEFAULT_NAMEID_FORMATS,
    *,
    want_authn_requests_signed: bool = False,
) -> bytes:
    """IdP metadata as UTF-8 XML bytes.

    ``certificates``: PEM certificates, one signing KeyDescriptor each (current first,
    then the next one during a rotation). ``want_authn_requests_signed``: True when the
    app holds an SP certificate (its AuthnRequests must be signed).
    """
    if not certificates:
        raise ValueError("at least one signing certificate is required")
    md, ds = f"{{{C.NS_MD}}}", f"{{{C.NS_DS}}}"
    root = etree.Element(f"{md}EntityDescriptor", nsmap={"md": C.NS_MD, "ds": C.NS_DS})
    root.set("entityID", entity_id)
    idp = etree.SubElement(root, f"{md}IDPSSODescriptor")
    idp.set("WantAuthnRequestsSigned", "true" if want_authn_requests_signed else "false")
    idp.set("protocolSupportEnumeration", C.NS_SAMLP)
    seen: set[str] = set()
    for pem in certificates:
        body = certificate_body(pem)
        if body in seen:
            continue
        seen.add(body)
        kd = etree.SubElement(idp, f"{md}KeyDescriptor", use="signing")
        ki = etree.SubElement(kd, f"{ds}KeyInfo")
        xd = etree.SubElement(ki, f"{ds}X509Data")
        etree.SubElement(xd, f"{ds}X509Certificate").text = body
    if slo_url:
        for binding in (C.BINDING_REDIRECT, C.BINDING_POST):
            etree.SubElement(idp, f"{md}SingleLogoutService", Binding=binding, Location=slo_url)
    for fmt in dict.fromkeys(nameid_formats):
        etree.SubElement(idp, f"{md}NameIDFormat").text = fmt
    for binding in (C.BINDING_REDIRECT, C.BINDING_POST):
        etree.SubElement(idp, f"{md}SingleSignOnService", Binding=binding, Location=sso_url)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
