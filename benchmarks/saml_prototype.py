"""What-if for benchmark 1 (not shipped; nothing in idp/ uses it): sign the same Response without
libxmlsec1's template machinery: exclusive C14N with lxml, SHA-256 with hashlib, the RSA signature
with `cryptography`, the KeyInfo certificate body precomputed once. The output is checked with
python-xmlsec's verifier before it is timed, so the row is only shown for signatures that verify."""
from __future__ import annotations

import base64
import hashlib

from lxml import etree

DS = "http://www.w3.org/2000/09/xmldsig#"
EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"
ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
NS_SAML = "urn:oasis:names:tc:SAML:2.0:assertion"


class FastSigner:
    def __init__(self, private_key_pem: str, certificate_pem: str):
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import padding

        from idp.saml.keys import certificate_body

        self._key = serialization.load_pem_private_key(private_key_pem.encode(), password=None)
        self._pad, self._alg = padding.PKCS1v15(), hashes.SHA256()
        self._cert_b64 = certificate_body(certificate_pem)

    def _c14n(self, elem) -> bytes:
        return etree.tostring(elem, method="c14n", exclusive=True, with_comments=False)

    def sign(self, elem: etree._Element) -> None:
        """Enveloped signature of `elem` (must carry ID), placed right after its saml:Issuer."""
        digest = base64.b64encode(hashlib.sha256(self._c14n(elem)).digest()).decode()
        E = lambda tag, parent=None, **attrs: (etree.SubElement(parent, f"{{{DS}}}{tag}", attrs) if parent is not None
                                                else etree.Element(f"{{{DS}}}{tag}", attrs, nsmap={"ds": DS}))
        sig = E("Signature")
        si = E("SignedInfo", sig)
        E("CanonicalizationMethod", si, Algorithm=EXC_C14N)
        E("SignatureMethod", si, Algorithm=RSA_SHA256)
        ref = E("Reference", si, URI="#" + elem.get("ID"))
        tr = E("Transforms", ref)
        E("Transform", tr, Algorithm=ENVELOPED)
        E("Transform", tr, Algorithm=EXC_C14N)
        E("DigestMethod", ref, Algorithm=SHA256)
        E("DigestValue", ref).text = digest
        value = self._key.sign(self._c14n(si), self._pad, self._alg)
        E("SignatureValue", sig).text = base64.b64encode(value).decode()
        ki = E("KeyInfo", sig)
        E("X509Certificate", E("X509Data", ki)).text = self._cert_b64
        issuer = elem.find(f"{{{NS_SAML}}}Issuer")
        if issuer is not None:
            issuer.addnext(sig)
        else:
            elem.insert(0, sig)


def make_prototype():
    """Same Response as `saml_response.make_ours`, signed by FastSigner; verified once with xmlsec."""
    import xmlsec

    from idp.saml import response as R

    from .saml_response import ACS_URL, IDP_ENTITY_ID, REQUEST_ID, SESSION_INDEX, SP_ENTITY_ID, USER, key_material

    km = key_material()
    signer = FastSigner(km.private_key_pem, km.certificate_pem)
    params = R.ResponseParams(
        idp_entity_id=IDP_ENTITY_ID, acs_url=ACS_URL, sp_entity_id=SP_ENTITY_ID, nameid=USER["email"],
        attributes={k: [v] for k, v in USER.items()}, session_index=SESSION_INDEX, in_response_to=REQUEST_ID,
    )

    def one() -> str:
        now = R._now(None)
        assertion = R.build_assertion(params, now)
        signer.sign(assertion)
        response = R._response_root(params.idp_entity_id, params.acs_url, params.in_response_to, now)
        R._status(response, R.C.STATUS_SUCCESS)
        response.append(assertion)
        signer.sign(response)
        return base64.b64encode(etree.tostring(response, encoding="UTF-8")).decode("ascii")

    # verify both signatures with libxmlsec1 before timing anything
    doc = etree.fromstring(base64.b64decode(one()))
    key = xmlsec.Key.from_memory(km.certificate_pem, xmlsec.KeyFormat.CERT_PEM, None)
    for node in (doc, doc.find(f"{{{NS_SAML}}}Assertion")):
        ctx = xmlsec.SignatureContext()
        ctx.key = key
        ctx.register_id(node, "ID")
        ctx.verify(node.find(f"{{{DS}}}Signature"))  # raises if it does not verify
    return one


def bench_prototype(n: int) -> dict:
    from .common import summary_ms, time_calls

    return summary_ms(time_calls(make_prototype(), n))
