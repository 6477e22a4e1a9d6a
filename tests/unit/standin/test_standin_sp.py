"""The stand-in's SAML SP (python3-saml, strict) against a test IdP built in the test."""
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, urlsplit

import pytest
from lxml import etree
from onelogin.saml2.constants import OneLogin_Saml2_Constants as C

from idp_testing.standin_idp import TestIdP, authn_request_from_location, keypair, tamper
from officespace_standin.sp import MetadataError, SamlSP, safe_relay_path

BASE = "http://127.0.0.1:3001"
ACS = f"{BASE}/users/sign_in/saml"
ENTITY = "127.0.0.1"
OFFICESPACE_ATTRS = {"email": ["alice@example.com"], "name": ["Alice Liddell"], "first_name": ["Alice"],
                     "last_name": ["Liddell"]}


@pytest.fixture
def idp():
    return TestIdP()


@pytest.fixture
def sp(idp):
    sp = SamlSP(base_url=BASE, sp_entity_id=ENTITY, acs_url=ACS, metadata_url="http://idp.invalid/md",
                slo_url=f"{BASE}/saml/slo")
    sp.fetches = 0

    def fetch():
        sp.fetches += 1
        return idp.idp_settings()

    sp.fetch_idp_settings = fetch
    return sp


def good(idp, **kw):
    args = {"acs_url": ACS, "audience": ENTITY, "nameid": "alice@example.com", "attributes": OFFICESPACE_ATTRS}
    args.update(kw)
    return idp.response(**args)


def test_idp_initiated_signed_response_is_accepted_and_read(sp, idp):
    result = sp.process_acs({"SAMLResponse": good(idp, session_index="_sess42"), "RelayState": "/desks"})
    assert result.ok, result.reason
    assert result.flow == "idp-initiated"
    assert result.nameid == "alice@example.com"
    assert result.nameid_format == C.NAMEID_EMAIL_ADDRESS
    assert result.session_index == "_sess42"
    assert result.attributes == OFFICESPACE_ATTRS
    assert result.relay_state == "/desks"
    assert result.issuer == idp.entity_id
    assert sp.sign_ins[0]["ok"] is True and sp.sign_ins[0]["nameid"] == "alice@example.com"


def _sha1(idp):
    return good(idp, sign_algorithm=C.RSA_SHA1, digest_algorithm=C.SHA1)


@pytest.mark.parametrize("make, reason_part", [
    (lambda idp: tamper(good(idp), "alice@example.com</saml:NameID>", "mallory@example.com</saml:NameID>"),
     "Signature validation failed"),
    (lambda idp: tamper(good(idp), ">Alice Liddell<", ">Mallory<"), "Signature validation failed"),
    (lambda idp: good(idp, sign_response=False), "Message of the Response is not signed"),
    (lambda idp: good(idp, sign_assertion=False), "Assertion of the Response is not signed"),
    (lambda idp: good(idp, audience="someone-else.example.com"), "not a valid audience"),
    (lambda idp: good(idp, destination="http://127.0.0.1:9999/users/sign_in/saml"), "was received at"),
    (lambda idp: good(idp, acs_url="http://evil.example/acs", destination=ACS), "SubjectConfirmation"),
    (lambda idp: good(idp, issuer="http://other-idp.example/saml2"), "issuer"),
    (lambda idp: good(idp, now=datetime.now(timezone.utc).replace(microsecond=0) - timedelta(hours=2)), "expired"),
    (lambda idp: good(idp, key_pem=keypair("rogue")[0], cert_pem=keypair("rogue")[1]), "Signature validation failed"),
    (_sha1, "Deprecated signature algorithm"),
    (lambda idp: good(idp, attributes={}), "AttributeStatement"),
], ids=["tampered-nameid", "tampered-attribute", "response-unsigned", "assertion-unsigned", "wrong-audience",
        "wrong-destination", "wrong-recipient", "wrong-issuer", "expired", "rogue-key", "sha1", "no-attributes"])
def test_strict_sp_rejects_bad_responses(sp, idp, make, reason_part):
    result = sp.process_acs({"SAMLResponse": make(idp)})
    assert not result.ok
    assert result.errors
    assert result.reason
    assert reason_part.lower() in result.reason.lower()
    assert result.nameid is None and result.attributes == {}
    assert sp.sign_ins[0]["ok"] is False


@pytest.mark.parametrize("post, reason_part", [
    ({}, "no SAMLResponse"),
    ({"SAMLResponse": "not base64 at all!"}, "not base64"),
    ({"SAMLResponse": "PGZvbz48L2Zvbz4="}, "not samlp:Response"),  # <foo></foo>
])
def test_garbage_posts_are_rejected_with_a_reason(sp, post, reason_part):
    result = sp.process_acs(post)
    assert not result.ok and reason_part in result.reason


def test_sp_initiated_login_builds_a_redirect_authn_request_and_accepts_the_answer_once(sp, idp):
    location, request_id = sp.login_redirect("/")
    assert location.startswith(idp.sso_url + "?")
    xml, query = authn_request_from_location(location)
    assert query["RelayState"] == "/"
    assert "Signature" not in query  # unsigned AuthnRequest (no SP key)
    root = etree.fromstring(xml)
    assert root.tag == f"{{{C.NS_SAMLP}}}AuthnRequest"
    assert root.get("ID") == request_id
    assert root.get("Destination") == idp.sso_url
    assert root.get("AssertionConsumerServiceURL") == ACS
    assert root.get("ProtocolBinding") == C.BINDING_HTTP_POST
    assert root.findtext(f"{{{C.NS_SAML}}}Issuer") == ENTITY
    assert root.find(f"{{{C.NS_SAMLP}}}NameIDPolicy").get("Format") == C.NAMEID_EMAIL_ADDRESS
    assert request_id in sp.pending_request_ids()

    saml_response = good(idp, in_response_to=request_id)
    result = sp.process_acs({"SAMLResponse": saml_response, "RelayState": "/"})
    assert result.ok, result.reason
    assert result.flow == "sp-initiated" and result.in_response_to == request_id
    assert request_id not in sp.pending_request_ids()

    # The same Response again: the request is used up.
    again = sp.process_acs({"SAMLResponse": saml_response})
    assert not again.ok and "matches no AuthnRequest" in again.reason


def test_unknown_in_response_to_is_rejected(sp, idp):
    sp.login_redirect("/")
    result = sp.process_acs({"SAMLResponse": good(idp, in_response_to="_never-sent")})
    assert not result.ok and "matches no AuthnRequest" in result.reason


def test_assertion_in_response_to_must_match_the_request(sp, idp):
    _, first = sp.login_redirect("/")
    _, second = sp.login_redirect("/")
    result = sp.process_acs({"SAMLResponse": good(idp, in_response_to=first, subject_in_response_to=second)})
    assert not result.ok
    assert "SubjectConfirmation" in result.reason  # the bearer confirmation names another request


def test_replayed_idp_initiated_response_is_rejected(sp, idp):
    saml_response = good(idp)
    assert sp.process_acs({"SAMLResponse": saml_response}).ok
    replay = sp.process_acs({"SAMLResponse": saml_response})
    assert not replay.ok and replay.errors == ["replayed_response"]


def test_metadata_is_cached_then_reread_after_a_key_rotation(sp, idp):
    assert sp.process_acs({"SAMLResponse": good(idp)}).ok
    assert sp.process_acs({"SAMLResponse": good(idp)}).ok
    assert sp.fetches == 1  # second login served from the cache
    idp.rotate("rotated-idp-key")
    result = sp.process_acs({"SAMLResponse": good(idp)})
    assert result.ok, result.reason  # the cached (old) cert failed, the re-read one passed
    assert sp.fetches == 2


def test_response_signed_with_the_old_key_fails_after_rotation(sp, idp):
    old = good(idp)
    idp.rotate("rotated-idp-key-2")
    result = sp.process_acs({"SAMLResponse": old})
    assert not result.ok and "Signature validation failed" in result.reason


def test_metadata_errors_surface_as_a_rejection(idp):
    sp = SamlSP(base_url=BASE, sp_entity_id=ENTITY, acs_url=ACS, metadata_url="http://127.0.0.1:9/none",
                http_timeout=1)
    with pytest.raises(MetadataError, match="cannot reach"):
        sp.login_redirect("/")
    result = sp.process_acs({"SAMLResponse": good(idp)})
    assert not result.ok and result.errors == ["idp_metadata"]


def test_settings_are_strict():
    sp = SamlSP(base_url=BASE, sp_entity_id=ENTITY, acs_url=ACS, metadata_url="http://x/md")
    settings = sp.settings(TestIdP().idp_settings())
    security = settings["security"]
    assert settings["strict"] is True
    for flag in ("wantAssertionsSigned", "wantMessagesSigned", "rejectDeprecatedAlgorithm", "wantNameId"):
        assert security[flag] is True, flag


@pytest.mark.parametrize("value, expected", [
    ("/", "/"), ("/provisioning?x=1", "/provisioning?x=1"), (None, None), ("", None),
    ("https://evil.example/", None), ("//evil.example/", None), ("/\\evil", None), ("desks", None),
    ("/a\r\nSet-Cookie: x", None),
])
def test_relay_state_is_only_followed_to_local_paths(value, expected):
    assert safe_relay_path(value) == expected


def test_login_redirect_query_has_no_signature_and_relay_state_round_trips(sp):
    location, _ = sp.login_redirect("/provisioning")
    assert parse_qs(urlsplit(location).query)["RelayState"] == ["/provisioning"]


def test_sp_initiated_single_logout_round_trip(sp, idp):
    result = sp.process_acs({"SAMLResponse": good(idp, session_index="_sess-slo")})
    assert result.ok
    session = {"nameid": result.nameid, "nameid_format": result.nameid_format, "session_index": result.session_index,
               "nameid_nq": result.nameid_nq, "nameid_spnq": result.nameid_spnq}
    location = sp.logout_redirect(session)
    assert location.startswith(idp.slo_url + "?SAMLRequest=")
    query = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
    from idp_testing.standin_idp import decode_redirect_request
    request = etree.fromstring(decode_redirect_request(query["SAMLRequest"]))
    assert request.tag == f"{{{C.NS_SAMLP}}}LogoutRequest"
    assert request.findtext(f"{{{C.NS_SAML}}}NameID") == "alice@example.com"
    assert request.findtext(f"{{{C.NS_SAMLP}}}SessionIndex") == "_sess-slo"

    slo = f"{BASE}/saml/slo"
    unsigned = idp.logout_response_query(in_response_to=request.get("ID"), destination=slo, sign=False)
    errors, reason, _ = sp.process_slo(dict(parse_qs_first(unsigned)), unsigned)
    assert errors and "not signed" in reason.lower()

    stranger = idp.logout_response_query(in_response_to="_not-mine", destination=slo)
    errors, reason, _ = sp.process_slo(dict(parse_qs_first(stranger)), stranger)
    assert errors and "matches no LogoutRequest" in reason

    signed = idp.logout_response_query(in_response_to=request.get("ID"), destination=slo)
    errors, reason, redirect = sp.process_slo(dict(parse_qs_first(signed)), signed)
    assert errors == [] and reason is None and redirect is None


def parse_qs_first(raw):
    return {k: v[0] for k, v in parse_qs(raw).items()}
