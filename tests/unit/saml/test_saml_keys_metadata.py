"""Signing keys, SP certificate normalisation, IdP metadata."""

from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from lxml import etree
from onelogin.saml2.idp_metadata_parser import OneLogin_Saml2_IdPMetadataParser
from onelogin.saml2.xml_utils import OneLogin_Saml2_XML

from idp.saml import constants as C
from idp.saml.keys import certificate_body, certificate_info, generate_signing_key, normalize_sp_certificate
from idp.saml.metadata import build_idp_metadata
from idp_testing.saml_sp import IDP_ENTITY_ID, SLO_URL, SSO_URL, idp_key

FP = re.compile(r"^([0-9A-F]{2}:){31}[0-9A-F]{2}$")


def test_generate_signing_key_shape():
    k = generate_signing_key("officespace.idp.example.test", days=30)
    key = serialization.load_pem_private_key(k.private_key_pem.encode(), None)
    assert isinstance(key, rsa.RSAPrivateKey) and key.key_size == 2048
    cert = x509.load_pem_x509_certificate(k.certificate_pem.encode())
    assert cert.public_key().public_numbers() == key.public_key().public_numbers()
    assert cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value == "officespace.idp.example.test"
    assert cert.signature_hash_algorithm.name == "sha256"
    assert FP.match(k.fingerprint_sha256)
    assert k.fingerprint_sha256.replace(":", "").lower() == cert.fingerprint(hashes.SHA256()).hex()
    nb = datetime.strptime(k.not_before, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    na = datetime.strptime(k.not_after, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    assert 29 <= (na - nb).days <= 30
    assert k.kid.startswith("k") and len(k.kid) == 17
    assert "private_key_pem" not in k.public_dict()
    # two calls: two different keys
    assert generate_signing_key("x").fingerprint_sha256 != generate_signing_key("x").fingerprint_sha256


def test_generate_signing_key_rejects_bad_input():
    with pytest.raises(ValueError, match="common_name must not be empty"):
        generate_signing_key("")
    with pytest.raises(ValueError, match="days must be at least 1"):
        generate_signing_key("x", days=0)


def test_certificate_info():
    k = idp_key()
    info = certificate_info(k.certificate_pem)
    assert info["fingerprint_sha256"] == k.fingerprint_sha256
    assert info["not_after"] == k.not_after and info["not_before"] == k.not_before
    assert info["key_type"] == "RSA" and info["key_size"] == 2048
    assert info["expired"] is False and info["days_left"] > 3000
    assert "CN=idp.idp.example.test" in info["subject"]
    assert info["kid"] == k.kid
    # bare base64 body works too
    assert certificate_info(certificate_body(k.certificate_pem))["fingerprint_sha256"] == k.fingerprint_sha256


def test_normalize_sp_certificate_accepts_pem_and_bare_body():
    pem = idp_key().certificate_pem
    assert normalize_sp_certificate(pem) == pem
    assert normalize_sp_certificate("\n  " + pem.replace("\n", "\r\n") + "  ") == pem
    body = certificate_body(pem)
    assert normalize_sp_certificate(body) == pem
    wrapped = "\n".join(body[i:i + 64] for i in range(0, len(body), 64))
    assert normalize_sp_certificate(wrapped) == pem


@pytest.mark.parametrize("junk,needle", [
    ("", "empty"),
    ("   ", "empty"),
    ("hello world", "base64"),
    ("-----BEGIN CERTIFICATE-----\nAAAA\n", "END"),
    ("-----BEGIN CERTIFICATE-----\nQUJD\n-----END CERTIFICATE-----", "not a valid X.509"),
    ("QUJDREVG", "not a valid X.509"),
])
def test_normalize_sp_certificate_rejects_junk(junk, needle):
    with pytest.raises(ValueError) as ei:
        normalize_sp_certificate(junk)
    assert needle in str(ei.value)


def test_normalize_sp_certificate_rejects_private_key_and_two_certs_and_small_rsa():
    k = idp_key()
    with pytest.raises(ValueError, match="PRIVATE KEY"):
        normalize_sp_certificate(k.private_key_pem)
    with pytest.raises(ValueError, match="PRIVATE KEY"):
        normalize_sp_certificate(k.certificate_pem + k.private_key_pem)
    with pytest.raises(ValueError, match="more than one"):
        normalize_sp_certificate(k.certificate_pem + idp_key("next").certificate_pem)
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "small")])
    now = datetime.now(timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(small.public_key())
            .serial_number(1).not_valid_before(now).not_valid_after(now.replace(year=now.year + 1))
            .sign(small, hashes.SHA256()))
    with pytest.raises(ValueError, match="1024-bit"):
        normalize_sp_certificate(cert.public_bytes(serialization.Encoding.PEM).decode())
    with pytest.raises(ValueError, match="not a CERTIFICATE"):
        normalize_sp_certificate("-----BEGIN PUBLIC KEY-----\nQUJD\n-----END PUBLIC KEY-----")


def _md(certs, **kw):
    return build_idp_metadata(IDP_ENTITY_ID, SSO_URL, SLO_URL, certs, **kw)


def test_metadata_parses_and_validates_against_xsd():
    xml = _md([idp_key().certificate_pem])
    assert xml.startswith(b"<?xml")
    res = OneLogin_Saml2_XML.validate_xml(xml, "saml-schema-metadata-2.0.xsd")
    assert not isinstance(res, str), res
    parsed = OneLogin_Saml2_IdPMetadataParser.parse(xml)
    idp = parsed["idp"]
    assert idp["entityId"] == IDP_ENTITY_ID
    assert idp["singleSignOnService"]["url"] == SSO_URL
    assert idp["singleLogoutService"]["url"] == SLO_URL
    assert certificate_body(idp_key().certificate_pem) == idp["x509cert"]
    parsed_post = OneLogin_Saml2_IdPMetadataParser.parse(xml, required_sso_binding=C.BINDING_POST)
    assert parsed_post["idp"]["singleSignOnService"]["binding"] == C.BINDING_POST
    assert parsed["sp"]["NameIDFormat"] == C.NAMEID_EMAIL


def test_metadata_two_certificates_during_rotation():
    cur, nxt = idp_key().certificate_pem, idp_key("next").certificate_pem
    xml = _md([cur, nxt, cur])  # a duplicate is published once
    res = OneLogin_Saml2_XML.validate_xml(xml, "saml-schema-metadata-2.0.xsd")
    assert not isinstance(res, str)
    idp = OneLogin_Saml2_IdPMetadataParser.parse(xml)["idp"]
    assert idp["x509certMulti"]["signing"] == [certificate_body(cur), certificate_body(nxt)]


def test_metadata_want_authn_requests_signed_and_formats():
    root = etree.fromstring(_md([idp_key().certificate_pem], want_authn_requests_signed=True,
                                nameid_formats=[C.NAMEID_UNSPECIFIED]))
    ns = {"md": C.NS_MD}
    idp = root.find("md:IDPSSODescriptor", ns)
    assert idp.get("WantAuthnRequestsSigned") == "true"
    assert [e.text for e in idp.findall("md:NameIDFormat", ns)] == [C.NAMEID_UNSPECIFIED]
    assert {e.get("Binding") for e in idp.findall("md:SingleSignOnService", ns)} == {C.BINDING_REDIRECT, C.BINDING_POST}
    assert {e.get("Binding") for e in idp.findall("md:SingleLogoutService", ns)} == {C.BINDING_REDIRECT, C.BINDING_POST}
    assert all(k.get("use") == "signing" for k in idp.findall("md:KeyDescriptor", ns))
    root = etree.fromstring(_md([idp_key().certificate_pem]))
    assert root.find("md:IDPSSODescriptor", ns).get("WantAuthnRequestsSigned") == "false"


def test_metadata_without_slo_and_escaping():
    xml = build_idp_metadata('https://idp.example.test/saml2/a"b&c', SSO_URL, None, [idp_key().certificate_pem])
    root = etree.fromstring(xml)
    assert root.get("entityID") == 'https://idp.example.test/saml2/a"b&c'
    assert root.find(f"{{{C.NS_MD}}}IDPSSODescriptor/{{{C.NS_MD}}}SingleLogoutService") is None
    assert not isinstance(OneLogin_Saml2_XML.validate_xml(xml, "saml-schema-metadata-2.0.xsd"), str)


def test_metadata_requires_a_certificate():
    with pytest.raises(ValueError, match="at least one signing certificate is required"):
        _md([])
