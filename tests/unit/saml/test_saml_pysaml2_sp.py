"""Our Responses against a second, independent SP: pysaml2's ``Saml2Client``, configured strictly.

python3-saml (test_saml_response.py) verifies in-process with python-xmlsec; pysaml2 runs
Debian's ``xmlsec1`` binary, trusts only the certificates in the IdP metadata that
``build_idp_metadata`` produced, and checks InResponseTo against its outstanding requests.
Every negative test first shows that the same SP accepts the untouched response, so a
rejection cannot come from a broken SP configuration.
"""

from __future__ import annotations

import base64
from functools import lru_cache

import pytest
from lxml import etree
from saml2.response import AuthnResponse, UnsolicitedResponse
from saml2.sigver import SignatureError

from idp.saml import constants as C
from idp.saml.keys import certificate_body, generate_signing_key
from idp.saml.metadata import build_idp_metadata
from idp.saml.response import ResponseParams, build_response
from idp.saml.signing import SigningKey
from idp_testing.pysaml2_sp import make_client, parse, xmlsec1_binary
from idp_testing.saml_sp import ACS_URL, IDP_ENTITY_ID, SLO_URL, SP_ENTITY_ID, SSO_URL

NS = {"samlp": C.NS_SAMLP, "saml": C.NS_SAML, "ds": C.NS_DS}
REQ_ID = "id-5f2b8c0e9a7d4e1f"  # an SP-initiated AuthnRequest ID (must not start with a digit)
NAMEID = "ada@example.com"
SESSION_INDEX = "_sess0a1b2c3d4e5f"
OFFICESPACE_ATTRS = {
    "email": "ada@example.com",
    "name": "Ada Lövelace",  # non-ASCII on purpose: UTF-8 must survive signing and parsing
    "first_name": "Ada",
    "last_name": "Lövelace",
}

# SP policies: (want_response_signed, want_assertions_signed) per sign mode we emit.
WANT_BOTH = dict(want_response_signed=True, want_assertions_signed=True)
WANT_ASSERTION = dict(want_response_signed=False, want_assertions_signed=True)
WANT_RESPONSE = dict(want_response_signed=True, want_assertions_signed=False)
POLICY_FOR = {"both": WANT_BOTH, "assertion": WANT_ASSERTION, "response": WANT_RESPONSE}


@pytest.fixture(scope="module", autouse=True)
def _require_xmlsec1():
    if xmlsec1_binary() is None:
        pytest.fail("Debian's xmlsec1 is not installed; pysaml2 needs it (run `make system-deps`)")


@lru_cache(maxsize=None)
def _keypair(cn: str):
    return generate_signing_key(cn)


def idp_signing_key(name: str = "current") -> SigningKey:
    k = _keypair(f"{name}.pysaml2-idp.example.test")
    return SigningKey(k.private_key_pem, k.certificate_pem, kid=k.kid)


def idp_metadata(*names: str) -> bytes:
    certs = [idp_signing_key(n).certificate_pem for n in (names or ("current",))]
    return build_idp_metadata(IDP_ENTITY_ID, SSO_URL, SLO_URL, certs)


@pytest.fixture
def sp(tmp_path):
    """Factory: a strict pysaml2 SP trusting our IdP metadata (current key only by default)."""
    sp_kp = _keypair("acme.officespacesoftware.com")
    key_file, cert_file = tmp_path / "sp.key", tmp_path / "sp.crt"
    key_file.write_text(sp_kp.private_key_pem)
    cert_file.write_text(sp_kp.certificate_pem)

    def build(*, metadata: bytes | None = None, **kw):
        kw.setdefault("want_response_signed", True)
        kw.setdefault("want_assertions_signed", True)
        client = make_client(metadata if metadata is not None else idp_metadata(), key_file=key_file, cert_file=cert_file, **kw)
        # The SP really loaded our metadata: the IdP's signing certificate is known to it.
        certs = client.metadata.certs(IDP_ENTITY_ID, "idpsso", "signing")
        assert certs, "pysaml2 did not load the IdP metadata"
        return client

    return build


def params(**kw) -> ResponseParams:
    base = dict(
        idp_entity_id=IDP_ENTITY_ID,
        acs_url=ACS_URL,
        sp_entity_id=SP_ENTITY_ID,
        nameid=NAMEID,
        nameid_format=C.NAMEID_EMAIL,
        attributes=OFFICESPACE_ATTRS,
        session_index=SESSION_INDEX,
        in_response_to=REQ_ID,
        sign="both",
    )
    base.update(kw)
    return ResponseParams(**base)


def response(key: SigningKey | None = None, **kw) -> str:
    return build_response(params(**kw), key or idp_signing_key())


def signed_elements(b64: str) -> set[str]:
    """Local names of the elements carrying a direct ds:Signature child."""
    root = etree.fromstring(base64.b64decode(b64))
    return {etree.QName(s.getparent()).localname for s in root.iter(f"{{{C.NS_DS}}}Signature")}


def tamper(b64: str, old: str, new: str) -> str:
    xml = base64.b64decode(b64).decode("utf-8")
    assert xml.count(old) == 1, f"expected exactly one {old!r} in the response"
    return base64.b64encode(xml.replace(old, new).encode("utf-8")).decode("ascii")


def assert_officespace_identity(r: AuthnResponse) -> None:
    assert r.name_id.text == NAMEID
    assert r.name_id.format == C.NAMEID_EMAIL
    # Exactly the OfficeSpace attributes, each single-valued, nothing renamed or dropped.
    assert r.get_identity() == {k: [v] for k, v in OFFICESPACE_ATTRS.items()}
    info = r.session_info()
    assert info["session_index"] == SESSION_INDEX
    assert info["issuer"] == IDP_ENTITY_ID
    assert [a[0] for a in info["authn_info"]] == [C.AC_PASSWORD_PROTECTED_TRANSPORT]


# ------------------------------------------------------------------------------- accepted


def test_sp_initiated_both_signed_accepted(sp):
    b64 = response(sign="both")
    assert signed_elements(b64) == {"Response", "Assertion"}
    r = parse(sp(**WANT_BOTH), b64, outstanding={REQ_ID: "/"})
    assert isinstance(r, AuthnResponse)
    assert r.in_response_to == REQ_ID
    assert r.came_from == "/"  # pysaml2 matched it to the outstanding request
    assert r.response.signature is not None and r.assertion.signature is not None
    assert_officespace_identity(r)


def test_sp_initiated_response_for_another_request_rejected(sp):
    client = sp(**WANT_BOTH)
    b64 = response()
    parse(client, b64, outstanding={REQ_ID: "/"})  # control
    with pytest.raises(UnsolicitedResponse, match=REQ_ID):
        parse(sp(**WANT_BOTH), b64, outstanding={"id-someotherrequest": "/"})


def test_idp_initiated_unsolicited_both_signed_accepted(sp):
    b64 = response(in_response_to=None, sign="both")
    root = etree.fromstring(base64.b64decode(b64))
    assert root.get("InResponseTo") is None
    assert root.find(".//saml:SubjectConfirmationData", NS).get("InResponseTo") is None
    assert signed_elements(b64) == {"Response", "Assertion"}

    r = parse(sp(allow_unsolicited=True, **WANT_BOTH), b64, outstanding=None)
    assert r.in_response_to is None
    assert_officespace_identity(r)

    # The same response is refused by an SP that does not take IdP-initiated logins,
    # so the acceptance above really went through the unsolicited path.
    with pytest.raises(UnsolicitedResponse, match="Unsolicited response"):
        parse(sp(allow_unsolicited=False, **WANT_BOTH), b64, outstanding=None)


def test_assertion_only_signature_accepted_by_sp_wanting_assertion_signatures(sp):
    b64 = response(sign="assertion")
    assert signed_elements(b64) == {"Assertion"}
    r = parse(sp(**WANT_ASSERTION), b64, outstanding={REQ_ID: "/"})
    assert r.response.signature is None and r.assertion.signature is not None
    assert_officespace_identity(r)
    # An SP that also wants the Response signed refuses it.
    with pytest.raises(SignatureError, match="Signature missing for response"):
        parse(sp(**WANT_BOTH), b64, outstanding={REQ_ID: "/"})


def test_response_only_signature_accepted_by_sp_wanting_response_signatures(sp):
    b64 = response(sign="response")
    assert signed_elements(b64) == {"Response"}
    r = parse(sp(**WANT_RESPONSE), b64, outstanding={REQ_ID: "/"})
    assert_officespace_identity(r)
    with pytest.raises(SignatureError, match="Signature missing for assertion"):
        parse(sp(**WANT_BOTH), b64, outstanding={REQ_ID: "/"})


@pytest.mark.parametrize("sign", ["both", "assertion", "response"])
def test_nameid_attributes_session_index(sp, sign):
    r = parse(sp(**POLICY_FOR[sign]), response(sign=sign), outstanding={REQ_ID: "/"})
    assert_officespace_identity(r)


def test_next_certificate_from_local_metadata_file_accepted(sp, tmp_path):
    """Rotation: metadata lists current + next (two KeyDescriptors); a response signed with next passes."""
    md = idp_metadata("current", "next")
    client = sp(metadata=md, metadata_file=tmp_path / "idp-metadata.xml", **WANT_BOTH)
    assert len(client.metadata.certs(IDP_ENTITY_ID, "idpsso", "signing")) == 2
    r = parse(client, response(key=idp_signing_key("next")), outstanding={REQ_ID: "/"})
    assert_officespace_identity(r)


# ------------------------------------------------------------------------------- rejected


TAMPERS = {
    "nameid": (f">{NAMEID}</saml:NameID>", ">eve@example.com</saml:NameID>"),
    "attribute": (">Ada Lövelace</saml:AttributeValue>", ">Eve Lövelace</saml:AttributeValue>"),
}


@pytest.mark.parametrize("sign", ["both", "assertion", "response"])
@pytest.mark.parametrize("what", sorted(TAMPERS))
def test_tampered_after_signing_rejected(sp, sign, what):
    """With sign=assertion only the Assertion's signature protects the content; with
    sign=response only the Response's; with both, either one must catch it."""
    client = sp(**POLICY_FOR[sign])
    b64 = response(sign=sign)
    assert parse(client, b64, outstanding={REQ_ID: "/"}).name_id.text == NAMEID  # control
    bad = tamper(b64, *TAMPERS[what])
    with pytest.raises(SignatureError, match="Failed to verify signature"):
        parse(sp(**POLICY_FOR[sign]), bad, outstanding={REQ_ID: "/"})


@pytest.mark.parametrize("sign", ["both", "assertion", "response"])
def test_signed_with_key_not_in_metadata_rejected(sp, sign):
    """The rogue response carries its own certificate in KeyInfo; pysaml2 must not trust it."""
    client = sp(**POLICY_FOR[sign])
    parse(client, response(sign=sign), outstanding={REQ_ID: "/"})  # control: the metadata key passes
    rogue = response(key=idp_signing_key("rogue"), sign=sign)
    rogue_cert = certificate_body(idp_signing_key("rogue").certificate_pem)
    root = etree.fromstring(base64.b64decode(rogue))
    assert {"".join(e.text.split()) for e in root.iter(f"{{{C.NS_DS}}}X509Certificate")} == {rogue_cert}
    with pytest.raises(SignatureError, match="Failed to verify signature"):
        parse(sp(**POLICY_FOR[sign]), rogue, outstanding={REQ_ID: "/"})


def test_wrong_audience_rejected(sp):
    client = sp(**WANT_BOTH)
    parse(client, response(), outstanding={REQ_ID: "/"})  # control
    b64 = response(sp_entity_id="other-company.officespacesoftware.com")
    # Correctly signed by the trusted key: only the Audience is wrong.
    assert base64.b64decode(b64).count(b"<saml:Audience>other-company.officespacesoftware.com</saml:Audience>") == 1
    # pysaml2 raises a bare Exception here (saml2/response.py), so the message is what tells the reason.
    with pytest.raises(Exception, match="AudienceRestrictions conditions not satisfied") as ei:
        parse(sp(**WANT_BOTH), b64, outstanding={REQ_ID: "/"})
    assert f"Local entity_id={SP_ENTITY_ID}" in str(ei.value)



# ------------------------------------------------------------------------------- SAML statuses (issue 11, item 7)


@pytest.mark.parametrize("top,sub,exception", [
    (C.STATUS_RESPONDER, C.STATUS_NO_PASSIVE, "StatusNoPassive"),
    (C.STATUS_RESPONDER, C.STATUS_REQUEST_DENIED, "StatusRequestDenied"),
    (C.STATUS_REQUESTER, C.STATUS_INVALID_NAMEID_POLICY, "StatusInvalidNameidPolicy"),
    (C.STATUS_RESPONDER, C.STATUS_NO_AUTHN_CONTEXT, "StatusNoAuthnContext"),
])
def test_status_responses_are_read_by_pysaml2_as_that_status(sp, top, sub, exception):
    from idp.saml.response import build_status_response

    b64 = build_status_response(idp_entity_id=IDP_ENTITY_ID, acs_url=ACS_URL, in_response_to=REQ_ID, status_code=top,
                                sub_status_code=sub, message="why, in words", key=idp_signing_key())
    with pytest.raises(Exception) as ei:
        parse(sp(want_response_signed=True, want_assertions_signed=False), b64, outstanding={REQ_ID: "/"})
    assert type(ei.value).__name__ == exception and "why, in words" in str(ei.value)
