"""The reason of an `sso` refusal answered with a SAML status (contract section 8) comes with the status the
IdP decided on, not from its message: real AuthnRequests built by python3-saml as the SP, signed with the
app's SP key, asking for Kerberos (a context this IdP cannot meet: `no_authn_context`) and for the REFEDS MFA
profile for a user without a second factor (`mfa_required`), through the SSO URL's Lambda routes on moto."""
from __future__ import annotations

import base64

from lxml import etree

from idp.saml import constants as C
from idp_testing.lambda_client import LambdaClient, events, form_login, one
from idp_testing.saml_browser import parse_post_form
from idp_testing.saml_sp import sp_post_login, sp_rejects, sp_settings

KERBEROS = "urn:oasis:names:tc:SAML:2.0:ac:classes:Kerberos"
ACS = "https://acme.officespacesoftware.com/users/sign_in/saml"
NS = {"samlp": "urn:oasis:names:tc:SAML:2.0:protocol"}


def _sp_asking_for(env, context: str):
    """python3-saml as the OfficeSpace SP of the fixture (signed AuthnRequests), asking for ``context``."""
    return sp_settings(env.app["signing_keys"][0]["certificate_pem"], sp_entity_id="acme.officespacesoftware.com",
                       acs_url=ACS, idp_entity_id="https://idp.example.com/saml2/officespace",
                       sso_url="https://idp.example.com/saml2/officespace", sp_keypair=env.kp,
                       authn_requests_signed=True, requested_authn_context=[context])


def _status_of(page, sp, req_id: str) -> str:
    """The second-level status of the Response the page posts to the ACS (a strict SP refuses it)."""
    form = parse_post_form(page.text)
    assert page.status == 200 and form is not None and form.action == ACS, (page.status, page.text[:400])
    root = etree.fromstring(base64.b64decode(form.saml_response))
    assert "was Responder" in sp_rejects(sp, form.saml_response, req_id, acs_url=ACS)
    return root.find("samlp:Status/samlp:StatusCode/samlp:StatusCode", NS).get("Value")


def test_an_sp_asking_for_kerberos_is_refused_as_no_authn_context_not_mfa_required(env):
    sp = _sp_asking_for(env, KERBEROS)
    req_id, saml_request = sp_post_login(sp, sp_keypair=env.kp)
    assert KERBEROS.encode() in base64.b64decode(saml_request)
    page = LambdaClient(env.resolver).request("POST", "/saml2/officespace", form={"SAMLRequest": saml_request})
    assert _status_of(page, sp, req_id) == C.STATUS_NO_AUTHN_CONTEXT
    refused = [e for e in events(type="sso", app="officespace", outcome="failure")
               if (e.get("detail") or {}).get("request_id") == req_id]
    assert [e["reason"] for e in refused] == ["no_authn_context"], refused


def test_an_sp_asking_for_refeds_mfa_for_a_user_without_a_factor_is_refused_as_mfa_required(env):
    c = LambdaClient(env.resolver)
    assert form_login(c, c.request("GET", "/login")).path == "/"
    sp = _sp_asking_for(env, C.AC_REFEDS_MFA)
    req_id, saml_request = sp_post_login(sp, sp_keypair=env.kp)
    assert C.AC_REFEDS_MFA.encode() in base64.b64decode(saml_request)
    page = c.request("POST", "/saml2/officespace", form={"SAMLRequest": saml_request})
    assert _status_of(page, sp, req_id) == C.STATUS_NO_AUTHN_CONTEXT
    refused = one(events(type="sso", user_id=env.user["id"], outcome="failure"), reason="mfa_required")
    assert refused["detail"]["request_id"] == req_id and refused["app"] == "officespace"


def test_a_passive_kerberos_request_is_still_no_authn_context_and_a_passive_one_without_a_session_no_passive(env):
    sp = _sp_asking_for(env, KERBEROS)
    req_id, saml_request = sp_post_login(sp, sp_keypair=env.kp, is_passive=True)
    page = LambdaClient(env.resolver).request("POST", "/saml2/officespace", form={"SAMLRequest": saml_request})
    assert _status_of(page, sp, req_id) == C.STATUS_NO_AUTHN_CONTEXT
    sp = _sp_asking_for(env, C.AC_PASSWORD_PROTECTED_TRANSPORT)
    passive_id, saml_request = sp_post_login(sp, sp_keypair=env.kp, is_passive=True)
    page = LambdaClient(env.resolver).request("POST", "/saml2/officespace", form={"SAMLRequest": saml_request})
    assert _status_of(page, sp, passive_id) == C.STATUS_NO_PASSIVE
    reasons = {e["detail"]["request_id"]: e["reason"] for e in events(type="sso", app="officespace", outcome="failure")}
    assert reasons[req_id] == "no_authn_context" and reasons[passive_id] == "no_passive"
