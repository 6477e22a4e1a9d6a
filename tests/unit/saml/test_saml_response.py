"""Our Responses against python3-saml as a strict SP."""

from __future__ import annotations

import base64
import re
from datetime import datetime, timedelta, timezone

import pytest
from lxml import etree

from idp.saml import constants as C
from idp.saml import signing
from idp.saml.response import ResponseParams, build_response, build_response_xml, build_status_response
from idp.saml.signing import SigningKey
from idp_testing.saml_sp import (
    ACS_URL,
    IDP_ENTITY_ID,
    SP_ENTITY_ID,
    idp_key,
    sp_accepts,
    sp_rejects,
    sp_settings,
)

NS = {"samlp": C.NS_SAMLP, "saml": C.NS_SAML, "ds": C.NS_DS}
ATTRS = {
    "email": "ada@example.com",
    "name": "Ada Lovelace",
    "first_name": ["Ada"],
    "last_name": "Lovelace",
    "groups": ["eng", "admins"],
    "empty": [],
}


def key(name="idp") -> SigningKey:
    k = idp_key(name)
    return SigningKey(k.private_key_pem, k.certificate_pem, kid=k.kid)


def params(**kw) -> ResponseParams:
    base = dict(
        idp_entity_id=IDP_ENTITY_ID,
        acs_url=ACS_URL,
        sp_entity_id=SP_ENTITY_ID,
        nameid="ada@example.com",
        attributes=ATTRS,
        session_index="_sess1234abcd",
        in_response_to="ONELOGIN_abc123",
    )
    base.update(kw)
    return ResponseParams(**base)


def settings(**kw):
    return sp_settings(idp_key().certificate_pem, **kw)


def test_sp_initiated_both_signed_accepted_with_nameid_attributes_session_index():
    b64 = build_response(params(), key())
    r = sp_accepts(settings(), b64, "ONELOGIN_abc123")
    assert r.get_nameid() == "ada@example.com"
    assert r.get_nameid_format() == C.NAMEID_EMAIL
    assert r.get_session_index() == "_sess1234abcd"
    attrs = r.get_attributes()
    assert attrs["email"] == ["ada@example.com"]
    assert attrs["name"] == ["Ada Lovelace"]
    assert attrs["first_name"] == ["Ada"]
    assert attrs["last_name"] == ["Lovelace"]
    assert attrs["groups"] == ["eng", "admins"]
    assert "empty" not in attrs  # empty values are not sent
    assert r.get_authn_contexts() == [C.AC_PASSWORD_PROTECTED_TRANSPORT]


def test_idp_initiated_accepted_without_in_response_to():
    b64 = build_response(params(in_response_to=None), key())
    r = sp_accepts(settings(), b64, None)
    assert r.get_nameid() == "ada@example.com"
    xml = base64.b64decode(b64)
    assert b"InResponseTo" not in xml


def test_in_response_to_mismatch_rejected():
    b64 = build_response(params(in_response_to="ONELOGIN_other"), key())
    err = sp_rejects(settings(), b64, "ONELOGIN_abc123")
    assert "InResponseTo" in err


@pytest.mark.parametrize("mode,resp_signed,assertion_signed", [
    ("both", True, True),
    ("assertion", False, True),
    ("response", True, False),
])
def test_sign_modes_place_signatures_right_after_issuer(mode, resp_signed, assertion_signed):
    xml = build_response_xml(params(sign=mode), key())
    root = etree.fromstring(xml)
    resp_sig = root.find("ds:Signature", NS)
    assertion = root.find("saml:Assertion", NS)
    as_sig = assertion.find("ds:Signature", NS)
    assert (resp_sig is not None) == resp_signed
    assert (as_sig is not None) == assertion_signed
    if resp_signed:
        assert root[0].tag == f"{{{C.NS_SAML}}}Issuer" and root[1] is resp_sig
        assert resp_sig.find(".//ds:Reference", NS).get("URI") == "#" + root.get("ID")
        assert resp_sig.find(".//ds:SignatureMethod", NS).get("Algorithm") == C.RSA_SHA256
        assert resp_sig.find(".//ds:DigestMethod", NS).get("Algorithm") == C.SHA256
        assert resp_sig.find(".//ds:CanonicalizationMethod", NS).get("Algorithm") == C.EXC_C14N
        assert resp_sig.find(".//ds:X509Certificate", NS).text.strip()
    if assertion_signed:
        assert assertion[0].tag == f"{{{C.NS_SAML}}}Issuer" and assertion[1] is as_sig
        assert as_sig.find(".//ds:Reference", NS).get("URI") == "#" + assertion.get("ID")
    # A strict SP wanting exactly what this mode signs accepts it
    s = settings(want_messages_signed=resp_signed, want_assertions_signed=assertion_signed)
    sp_accepts(s, base64.b64encode(xml).decode(), "ONELOGIN_abc123")


def test_assertion_only_rejected_by_sp_wanting_signed_messages():
    b64 = build_response(params(sign="assertion"), key())
    err = sp_rejects(settings(), b64, "ONELOGIN_abc123")
    assert "Message of the Response is not signed" in err


def test_response_only_rejected_by_sp_wanting_signed_assertions():
    b64 = build_response(params(sign="response"), key())
    err = sp_rejects(settings(), b64, "ONELOGIN_abc123")
    assert "Assertion of the Response is not signed" in err


def test_bad_sign_mode_raises():
    with pytest.raises(ValueError, match="sign must be one of .* not 'none'"):
        build_response(params(sign="none"), key())


def _tamper(b64: str, old: bytes, new: bytes) -> str:
    xml = base64.b64decode(b64)
    assert old in xml
    return base64.b64encode(xml.replace(old, new, 1)).decode()


@pytest.mark.parametrize("mode", ["both", "assertion", "response"])
def test_tampered_nameid_detected(mode):
    b64 = build_response(params(sign=mode), key())
    s = settings(want_messages_signed=mode != "assertion", want_assertions_signed=mode != "response")
    sp_accepts(s, b64, "ONELOGIN_abc123")
    bad = _tamper(b64, b">ada@example.com</saml:NameID>", b">eve@example.com</saml:NameID>")
    assert "Signature validation failed" in sp_rejects(s, bad, "ONELOGIN_abc123")


def test_tampered_attribute_detected():
    b64 = build_response(params(), key())
    bad = _tamper(b64, b">admins<", b">root<")
    assert "Signature validation failed" in sp_rejects(settings(), bad, "ONELOGIN_abc123")


def test_signed_with_unknown_key_rejected():
    b64 = build_response(params(), key("other"))
    assert "Signature validation failed" in sp_rejects(settings(), b64, "ONELOGIN_abc123")


def test_wrong_audience_and_destination_rejected():
    b64 = build_response(params(sp_entity_id="someone-else.example.com"), key())
    assert "audience" in sp_rejects(settings(), b64, "ONELOGIN_abc123")
    b64 = build_response(params(acs_url="https://other.example.com/acs"), key())
    # posted to ACS_URL but addressed elsewhere
    assert "received at" in sp_rejects(settings(), b64, "ONELOGIN_abc123")


def test_expired_response_rejected():
    old = datetime.now(timezone.utc) - timedelta(minutes=30)
    b64 = build_response(params(now=old, authn_instant=old), key())
    assert "Could not validate timestamp: expired" in sp_rejects(settings(), b64, "ONELOGIN_abc123")


def test_timestamps_whole_seconds_utc_and_windows():
    now = datetime(2030, 1, 2, 3, 4, 5, 678901, tzinfo=timezone.utc)
    xml = build_response_xml(params(now=now, authn_instant=now - timedelta(seconds=30)), key())
    root = etree.fromstring(xml)
    stamps = re.findall(rb'(?:IssueInstant|NotBefore|NotOnOrAfter|AuthnInstant|SessionNotOnOrAfter)="([^"]+)"', xml)
    assert stamps and all(re.fullmatch(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", s) for s in stamps)
    assert root.get("IssueInstant") == "2030-01-02T03:04:05Z"
    cond = root.find("saml:Assertion/saml:Conditions", NS)
    assert cond.get("NotBefore") < "2030-01-02T03:04:05Z"  # a bit in the past
    assert cond.get("NotOnOrAfter") == "2030-01-02T03:09:05Z"  # short
    scd = root.find("saml:Assertion/saml:Subject/saml:SubjectConfirmation/saml:SubjectConfirmationData", NS)
    assert scd.get("Recipient") == ACS_URL
    assert scd.get("InResponseTo") == "ONELOGIN_abc123"
    assert scd.get("NotOnOrAfter") == "2030-01-02T03:09:05Z"
    st = root.find("saml:Assertion/saml:AuthnStatement", NS)
    assert st.get("AuthnInstant") == "2030-01-02T03:03:35Z"
    assert st.get("SessionIndex") == "_sess1234abcd"
    assert st.get("SessionNotOnOrAfter") > "2030-01-02T03:09:05Z"
    assert root.get("Destination") == ACS_URL
    assert root.find("saml:Assertion/saml:Conditions/saml:AudienceRestriction/saml:Audience", NS).text == SP_ENTITY_ID
    # IDs: "_" + hex, distinct
    ids = [root.get("ID"), root.find("saml:Assertion", NS).get("ID")]
    assert all(re.fullmatch(r"_[0-9a-f]{40}", i) for i in ids) and ids[0] != ids[1]


def test_response_validates_against_protocol_schema():
    from onelogin.saml2.xml_utils import OneLogin_Saml2_XML

    xml = build_response_xml(params(), key())
    res = OneLogin_Saml2_XML.validate_xml(xml, "saml-schema-protocol-2.0.xsd")
    assert not isinstance(res, str), res


def test_special_characters_escaped_and_roundtrip():
    b64 = build_response(params(nameid="o'neil+<x>&y@example.com", attributes={"name": "A & B <c>"}), key())
    r = sp_accepts(settings(), b64, "ONELOGIN_abc123")
    assert r.get_nameid() == "o'neil+<x>&y@example.com"
    assert r.get_attributes()["name"] == ["A & B <c>"]


def test_multi_cert_sp_accepts_new_key_after_rotation():
    """An SP trusting [old, new] accepts both; an SP trusting only new rejects old."""
    old, new = idp_key(), idp_key("next")
    both = sp_settings([old.certificate_pem, new.certificate_pem])
    only_new = sp_settings(new.certificate_pem)
    b_old = build_response(params(), key())
    b_new = build_response(params(), key("next"))
    sp_accepts(both, b_old, "ONELOGIN_abc123")
    sp_accepts(both, b_new, "ONELOGIN_abc123")
    sp_accepts(only_new, b_new, "ONELOGIN_abc123")
    assert "Signature validation failed" in sp_rejects(only_new, b_old, "ONELOGIN_abc123")


def test_key_cache_reused_and_refreshed_on_pem_change():
    signing.clear_cache()
    k = key()
    build_response(params(), k)
    first = signing.load_key(k)
    build_response(params(), k)
    assert signing.load_key(k) is first
    assert signing.cache_info()["kids"] == [k.kid]
    # same kid, different key material: the cache must not hand back the stale key
    other = idp_key("other")
    k2 = SigningKey(other.private_key_pem, other.certificate_pem, kid=k.kid)
    assert signing.load_key(k2) is not first
    b64 = build_response(params(), k2)
    sp_accepts(sp_settings(other.certificate_pem), b64, "ONELOGIN_abc123")


def test_bad_key_material_raises_value_error():
    with pytest.raises(ValueError, match="cannot load the signing key kbad"):
        build_response(params(), SigningKey("not a key", "not a cert", kid="kbad"))


def test_no_passive_status_response_signed_and_reported_by_sp():
    b64 = build_status_response(
        idp_entity_id=IDP_ENTITY_ID, acs_url=ACS_URL, in_response_to="ONELOGIN_abc123",
        status_code=C.STATUS_RESPONDER, sub_status_code=C.STATUS_NO_PASSIVE,
        message="The user is not signed in", key=key(),
    )
    xml = base64.b64decode(b64)
    root = etree.fromstring(xml)
    assert root.find("samlp:Status/samlp:StatusCode/samlp:StatusCode", NS).get("Value") == C.STATUS_NO_PASSIVE
    assert root.find("saml:Assertion", NS) is None
    assert root.find("ds:Signature", NS) is not None
    err = sp_rejects(settings(), b64, "ONELOGIN_abc123")
    assert "was Responder -> The user is not signed in" in err
