"""Single Logout (SP-initiated) and the HTML forms."""

from __future__ import annotations

import base64
import html
import re
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, urlsplit

import pytest
from lxml import etree
from onelogin.saml2.auth import OneLogin_Saml2_Auth
from onelogin.saml2.logout_response import OneLogin_Saml2_Logout_Response
from onelogin.saml2.utils import OneLogin_Saml2_Utils

from idp.saml import constants as C
from idp.saml.authn_request import SpPolicy
from idp.saml.errors import SamlRequestError
from idp.saml.logout import (
    build_logout_response,
    build_logout_response_redirect_url,
    parse_logout_post,
    parse_logout_redirect,
)
from idp.saml.signing import SigningKey
from idp.web.forms import POST_FORM_CSP, render_error, render_post_form
from idp_testing.saml_sp import (
    IDP_ENTITY_ID,
    SLO_URL,
    SP_ENTITY_ID,
    SP_HOST,
    SP_SLO_URL,
    idp_key,
    now_saml,
    redirect_query,
    sp_key,
    sp_settings,
)


def idp_signing_key():
    k = idp_key()
    return SigningKey(k.private_key_pem, k.certificate_pem, kid=k.kid)


SP_SIGNED = SpPolicy(SP_ENTITY_ID, ("https://acme.officespacesoftware.com/users/sign_in/saml",),
                     sp_certificate=sp_key().certificate_pem, destinations=(SLO_URL,))
SP_UNSIGNED = SpPolicy(SP_ENTITY_ID, ("https://acme.officespacesoftware.com/users/sign_in/saml",), destinations=(SLO_URL,))


def sp_auth(signed=True, request_data=None):
    s = sp_settings(idp_key().certificate_pem, sp_keypair=sp_key(), authn_requests_signed=signed)
    rd = request_data or {"https": "on", "http_host": SP_HOST, "script_name": "/users/sign_out/saml", "get_data": {}, "post_data": {}}
    return OneLogin_Saml2_Auth(rd, s)


def test_python3_saml_logout_request_parsed_and_verified():
    auth = sp_auth()
    url = auth.logout(return_to="/bye", name_id="ada@example.com", session_index="_sess1",
                      name_id_format=C.NAMEID_EMAIL)
    query = urlsplit(url).query
    req = parse_logout_redirect(query, SP_SIGNED)
    assert req.id == auth.get_last_request_id()
    assert req.nameid == "ada@example.com" and req.nameid_format == C.NAMEID_EMAIL
    assert req.session_indexes == ("_sess1",)
    assert req.relay_state == "/bye" and req.signed


def test_logout_request_negatives():
    auth = sp_auth(signed=False)
    url = auth.logout(name_id="ada@example.com", session_index="_s")
    q = urlsplit(url).query
    assert parse_logout_redirect(q, SP_UNSIGNED).nameid == "ada@example.com"
    with pytest.raises(SamlRequestError) as ei:
        parse_logout_redirect(q, SP_SIGNED)
    assert ei.value.code == "signature_required"
    with pytest.raises(SamlRequestError) as ei:
        parse_logout_redirect(q, SpPolicy("other.example.com", ("https://x/acs",)))
    assert ei.value.code == "unknown_sp"
    with pytest.raises(SamlRequestError) as ei:
        parse_logout_redirect(q, SP_UNSIGNED, now=datetime.now(timezone.utc) + timedelta(minutes=10))
    assert ei.value.code == "expired"
    with pytest.raises(SamlRequestError) as ei:
        parse_logout_redirect(q, SP_UNSIGNED, seen=lambda i: True)
    assert ei.value.code == "replayed"
    # an AuthnRequest is not a LogoutRequest
    from idp_testing.saml_sp import authn_request_xml
    with pytest.raises(SamlRequestError) as ei:
        parse_logout_redirect(redirect_query(authn_request_xml()), SP_UNSIGNED)
    assert ei.value.code == "malformed" and "LogoutRequest" in ei.value.message


def test_logout_request_post_signed():
    xml = (
        '<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" '
        'xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_lr1" Version="2.0" '
        f'IssueInstant="{now_saml()}" Destination="{SLO_URL}">'
        f"<saml:Issuer>{SP_ENTITY_ID}</saml:Issuer>"
        f'<saml:NameID Format="{C.NAMEID_EMAIL}">ada@example.com</saml:NameID>'
        "<samlp:SessionIndex>_s9</samlp:SessionIndex></samlp:LogoutRequest>"
    )
    kp = sp_key()
    signed = OneLogin_Saml2_Utils.add_sign(xml, kp.private_key_pem, kp.certificate_pem)
    signed = signed if isinstance(signed, bytes) else signed.encode()
    req = parse_logout_post({"SAMLRequest": base64.b64encode(signed).decode(), "RelayState": "r"}, SP_SIGNED)
    assert req.signed and req.session_indexes == ("_s9",) and req.relay_state == "r"
    tampered = signed.replace(b"ada@example.com", b"eve@example.com")
    with pytest.raises(SamlRequestError) as ei:
        parse_logout_post({"SAMLRequest": base64.b64encode(tampered).decode()}, SP_SIGNED)
    assert ei.value.code == "bad_signature"


def test_logout_response_redirect_accepted_by_python3_saml():
    url = build_logout_response_redirect_url(
        idp_entity_id=IDP_ENTITY_ID, destination=SP_SLO_URL, in_response_to="ONELOGIN_lr",
        key=idp_signing_key(), relay_state="/bye now",
    )
    u = urlsplit(url)
    assert f"{u.scheme}://{u.netloc}{u.path}" == SP_SLO_URL
    get_data = {k: v[0] for k, v in parse_qs(u.query).items()}
    assert get_data["RelayState"] == "/bye now"
    rd = {"https": "on", "http_host": SP_HOST, "script_name": urlsplit(SP_SLO_URL).path, "get_data": get_data, "post_data": {}}
    s = sp_settings(idp_key().certificate_pem, sp_keypair=sp_key())
    auth = OneLogin_Saml2_Auth(rd, s)
    auth.process_slo(request_id="ONELOGIN_lr", keep_local_session=True)
    assert auth.get_errors() == [], auth.get_last_error_reason()
    # a tampered signature is refused by the SP
    bad = dict(get_data, RelayState="/elsewhere")
    auth = OneLogin_Saml2_Auth(dict(rd, get_data=bad), s)
    auth.process_slo(request_id="ONELOGIN_lr", keep_local_session=True)
    assert "invalid_logout_response_signature" in auth.get_errors()


def test_logout_response_post_signed():
    b64 = build_logout_response(idp_entity_id=IDP_ENTITY_ID, destination=SP_SLO_URL,
                                in_response_to="ONELOGIN_lr", key=idp_signing_key())
    xml = base64.b64decode(b64)
    root = etree.fromstring(xml)
    assert root.tag == f"{{{C.NS_SAMLP}}}LogoutResponse"
    assert root.get("InResponseTo") == "ONELOGIN_lr" and root.get("Destination") == SP_SLO_URL
    assert OneLogin_Saml2_Utils.validate_sign(xml, idp_key().certificate_pem,
                                              xpath="/samlp:LogoutResponse/ds:Signature", raise_exceptions=True)
    s = sp_settings(idp_key().certificate_pem, want_messages_signed=False)
    lr = OneLogin_Saml2_Logout_Response(s, b64)
    rd = {"https": "on", "http_host": SP_HOST, "script_name": urlsplit(SP_SLO_URL).path, "get_data": {}, "post_data": {}}
    assert lr.is_valid(rd, "ONELOGIN_lr", raise_exceptions=True)
    assert lr.get_status() == C.STATUS_SUCCESS


# ----------------------------------------------------------------------------- forms


def test_post_form_escapes_and_autosubmits():
    evil_rs = '"><script>alert(1)</script>'
    page = render_post_form("https://acme.officespacesoftware.com/acs?a=1&b=2", "PHNhbWw+Cg==", evil_rs)
    assert "<script>alert(1)</script>" not in page
    assert 'action="https://acme.officespacesoftware.com/acs?a=1&amp;b=2"' in page
    assert 'name="SAMLResponse" value="PHNhbWw+Cg=="' in page
    m = re.search(r'name="RelayState" value="([^"]*)"', page)
    assert m and html.unescape(m.group(1)) == evil_rs
    assert "<noscript>" in page and 'type="submit"' in page
    assert "submit()" in page
    # the only inline script is the one the CSP hash allows
    import hashlib
    scripts = re.findall(r"<script>(.*?)</script>", page, re.S)
    assert len(scripts) == 1
    digest = base64.b64encode(hashlib.sha256(scripts[0].encode()).digest()).decode()
    assert f"'sha256-{digest}'" in POST_FORM_CSP


def test_post_form_without_relay_state_and_field_guard():
    page = render_post_form("https://x.example/acs", "AAAA")
    assert "RelayState" not in page
    page = render_post_form("https://x.example/slo", "AAAA", field_name="SAMLRequest")
    assert 'name="SAMLRequest"' in page
    with pytest.raises(ValueError, match="field_name must be SAMLResponse or SAMLRequest"):
        render_post_form("https://x.example/acs", "AAAA", field_name="evil")


def test_error_page_escapes():
    page = render_error(400, "Bad request", "<b>ACS</b> not registered", code="acs_not_registered")
    assert "&lt;b&gt;ACS&lt;/b&gt;" in page and "acs_not_registered" in page and "HTTP 400" in page


# ----------------------------------------------------------------------------- single logout rules (issue 11, item 5)


@pytest.mark.parametrize("status", [C.STATUS_REQUESTER, C.STATUS_RESPONDER])
def test_logout_response_with_a_non_success_status_and_message(status):
    b64 = build_logout_response(idp_entity_id=IDP_ENTITY_ID, destination=SP_SLO_URL, in_response_to="ONELOGIN_lr",
                                key=idp_signing_key(), status_code=status, message="no IdP session was ended")
    root = etree.fromstring(base64.b64decode(b64))
    assert root.find(f"{{{C.NS_SAMLP}}}Status/{{{C.NS_SAMLP}}}StatusMessage").text == "no IdP session was ended"
    s = sp_settings(idp_key().certificate_pem, want_messages_signed=False)
    lr = OneLogin_Saml2_Logout_Response(s, b64)
    rd = {"https": "on", "http_host": SP_HOST, "script_name": urlsplit(SP_SLO_URL).path, "get_data": {}, "post_data": {}}
    assert lr.is_valid(rd, "ONELOGIN_lr", raise_exceptions=True) and lr.get_status() == status
    url = build_logout_response_redirect_url(idp_entity_id=IDP_ENTITY_ID, destination=SP_SLO_URL, in_response_to="x",
                                             key=idp_signing_key(), status_code=status, message="nothing ended")
    get_data = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    assert b"nothing ended" in OneLogin_Saml2_Utils.decode_base64_and_inflate(get_data["SAMLResponse"])
    auth = OneLogin_Saml2_Auth(dict(rd, get_data=get_data), sp_settings(idp_key().certificate_pem, sp_keypair=sp_key()))
    auth.process_slo(request_id="x", keep_local_session=True)
    assert auth.get_errors() == ["logout_not_success"]  # the strict SP reports that the IdP ended nothing


def test_logout_request_replay_and_one_of_signature_and_sigalg():
    auth = sp_auth()
    query = urlsplit(auth.logout(name_id="ada@example.com", session_index="_s1")).query
    seen: set[str] = set()

    def check(rid):
        hit = rid in seen
        seen.add(rid)
        return hit

    parse_logout_redirect(query, SP_SIGNED, seen=check)
    with pytest.raises(SamlRequestError) as ei:
        parse_logout_redirect(query, SP_SIGNED, seen=check)
    assert ei.value.code == "replayed"
    half = "&".join(p for p in query.split("&") if not p.startswith("Signature="))
    with pytest.raises(SamlRequestError) as ei:
        parse_logout_redirect(half, SP_UNSIGNED)
    assert ei.value.code == "inconsistent_request"
