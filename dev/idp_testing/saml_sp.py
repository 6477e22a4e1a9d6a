"""Test helpers: python3-saml as a strict SP, AuthnRequest builders, cached test keys.

Shared by tests/unit/saml and tests/integration/saml (the latter puts this folder on
sys.path in its conftest).
"""

from __future__ import annotations

import base64
import zlib
from datetime import datetime, timezone
from functools import lru_cache
from urllib.parse import parse_qs, quote, urlsplit

import requests
from onelogin.saml2.auth import OneLogin_Saml2_Auth
from onelogin.saml2.authn_request import OneLogin_Saml2_Authn_Request
from onelogin.saml2.constants import OneLogin_Saml2_Constants as OC
from onelogin.saml2.idp_metadata_parser import OneLogin_Saml2_IdPMetadataParser
from onelogin.saml2.response import OneLogin_Saml2_Response
from onelogin.saml2.settings import OneLogin_Saml2_Settings
from onelogin.saml2.utils import OneLogin_Saml2_Utils

from idp.saml.keys import generate_signing_key

SP_ENTITY_ID = "acme.officespacesoftware.com"
SP_HOST = "acme.officespacesoftware.com"
ACS_PATH = "/users/sign_in/saml"
ACS_URL = f"https://{SP_HOST}{ACS_PATH}"
ACS_URL_2 = f"https://{SP_HOST}/users/sign_in/saml2"
IDP_ENTITY_ID = "https://idp.example.test/saml2/officespace"
SSO_URL = "https://idp.example.test/saml2/officespace"
SLO_URL = "https://idp.example.test/saml2/officespace/slo"
SP_SLO_URL = f"https://{SP_HOST}/users/sign_out/saml"


@lru_cache(maxsize=None)
def _cached_key(common_name: str):
    return generate_signing_key(common_name)


def idp_key(name: str = "idp"):
    """RSA-2048 IdP signing key (generated once per name per test session)."""
    return _cached_key(f"{name}.idp.example.test")


def sp_key(name: str = "sp"):
    """An SP signing key pair (used to sign AuthnRequests)."""
    return _cached_key(f"{name}.sp.example.test")


def sp_settings(
    idp_certs,
    *,
    sp_entity_id: str = SP_ENTITY_ID,
    acs_url: str = ACS_URL,
    idp_entity_id: str = IDP_ENTITY_ID,
    sso_url: str = SSO_URL,
    slo_url: str = SLO_URL,
    sp_keypair=None,
    authn_requests_signed: bool = False,
    want_assertions_signed: bool = True,
    want_messages_signed: bool = True,
    signature_algorithm: str = OC.RSA_SHA256,
    digest_algorithm: str = OC.SHA256,
    requested_authn_context: list[str] | None = None,
) -> OneLogin_Saml2_Settings:
    """python3-saml configured as a strict SP trusting ``idp_certs`` (one PEM or a list); its AuthnRequests ask
    for ``requested_authn_context`` (class references, compared ``exact``) when given."""
    if isinstance(idp_certs, str):
        idp_certs = [idp_certs]
    idp = {
        "entityId": idp_entity_id,
        "singleSignOnService": {"url": sso_url, "binding": OC.BINDING_HTTP_REDIRECT},
        "singleLogoutService": {"url": slo_url, "binding": OC.BINDING_HTTP_REDIRECT},
    }
    if len(idp_certs) == 1:
        idp["x509cert"] = idp_certs[0]
    else:
        idp["x509certMulti"] = {"signing": list(idp_certs)}
    sp = {
        "entityId": sp_entity_id,
        "assertionConsumerService": {"url": acs_url, "binding": OC.BINDING_HTTP_POST},
        "singleLogoutService": {"url": SP_SLO_URL, "binding": OC.BINDING_HTTP_REDIRECT},
        "NameIDFormat": OC.NAMEID_EMAIL_ADDRESS,
    }
    if sp_keypair is not None:
        sp["x509cert"] = sp_keypair.certificate_pem
        sp["privateKey"] = sp_keypair.private_key_pem
    return OneLogin_Saml2_Settings(
        {
            "strict": True,
            "debug": False,
            "sp": sp,
            "idp": idp,
            "security": {
                "authnRequestsSigned": authn_requests_signed,
                "logoutRequestSigned": authn_requests_signed,
                "wantAssertionsSigned": want_assertions_signed,
                "wantMessagesSigned": want_messages_signed,
                "rejectDeprecatedAlgorithm": True,
                "wantNameId": True,
                "wantAttributeStatement": True,
                "signatureAlgorithm": signature_algorithm,
                "digestAlgorithm": digest_algorithm,
                **({"requestedAuthnContext": requested_authn_context, "requestedAuthnContextComparison": "exact"}
                   if requested_authn_context else {}),
            },
        },
        sp_validation_only=sp_keypair is None,
    )


def acs_request_data(acs_url: str, saml_response: str, relay_state: str | None = None) -> dict:
    u = urlsplit(acs_url)
    post = {"SAMLResponse": saml_response}
    if relay_state is not None:
        post["RelayState"] = relay_state
    return {
        "https": "on" if u.scheme == "https" else "off",
        "http_host": u.netloc,
        "script_name": u.path,
        "get_data": {},
        "post_data": post,
    }


def sp_accepts(settings, saml_response: str, request_id: str | None, acs_url: str = ACS_URL):
    """Validate like a strict SP. Returns the OneLogin response (raises on rejection)."""
    r = OneLogin_Saml2_Response(settings, saml_response)
    r.is_valid(acs_request_data(acs_url, saml_response), request_id, raise_exceptions=True)
    return r


def sp_rejects(settings, saml_response: str, request_id: str | None, acs_url: str = ACS_URL) -> str:
    """Assert a strict SP refuses the response; return its error text."""
    try:
        r = OneLogin_Saml2_Response(settings, saml_response)
        ok = r.is_valid(acs_request_data(acs_url, saml_response), request_id)
    except Exception as exc:  # noqa: BLE001 - python3-saml fails malformed input in many ways: each is a rejection
        return f"{type(exc).__name__}: {exc}"
    assert not ok, "the strict SP accepted a response it should have refused"
    return r.get_error()


# ----------------------------------------------------------------------------- AuthnRequests


def sp_redirect_login(settings, *, relay_state: str | None = "https://acme.officespacesoftware.com/home", force_authn=False, is_passive=False):
    """Let python3-saml build the Redirect-binding URL. Returns (request id, raw query string)."""
    auth = OneLogin_Saml2_Auth(
        {"https": "on", "http_host": SP_HOST, "script_name": "/login", "get_data": {}, "post_data": {}},
        settings,
    )
    url = auth.login(return_to=relay_state, force_authn=force_authn, is_passive=is_passive)
    return auth.get_last_request_id(), urlsplit(url).query


def sp_post_login(settings, *, sp_keypair=None, force_authn=False, is_passive=False):
    """An AuthnRequest for the POST binding (signed enveloped when ``sp_keypair``).

    Returns (request id, base64 SAMLRequest)."""
    req = OneLogin_Saml2_Authn_Request(settings, force_authn=force_authn, is_passive=is_passive)
    xml = req.get_xml()
    if sp_keypair is not None:
        xml = OneLogin_Saml2_Utils.add_sign(
            xml, sp_keypair.private_key_pem, sp_keypair.certificate_pem,
            sign_algorithm=OC.RSA_SHA256, digest_algorithm=OC.SHA256,
        )
    if isinstance(xml, str):
        xml = xml.encode()
    return req.get_id(), base64.b64encode(xml).decode()


def now_saml(dt: datetime | None = None) -> str:
    dt = dt or datetime.now(timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def authn_request_xml(
    *,
    req_id: str = "_req0123456789abcdef",
    issuer: str = SP_ENTITY_ID,
    acs_url: str | None = ACS_URL,
    acs_index: str | None = None,
    instant: str | None = None,
    destination: str | None = SSO_URL,
    force_authn: bool = False,
    is_passive: bool = False,
    version: str = "2.0",
    protocol_binding: str | None = OC.BINDING_HTTP_POST,
    extra_root_attrs: str = "",
    body_extra: str = "",
    nameid_format: str | None = OC.NAMEID_EMAIL_ADDRESS,
) -> str:
    attrs = [
        f'ID="{req_id}"',
        f'Version="{version}"',
        f'IssueInstant="{instant or now_saml()}"',
    ]
    if destination is not None:
        attrs.append(f'Destination="{destination}"')
    if acs_url is not None:
        attrs.append(f'AssertionConsumerServiceURL="{acs_url}"')
    if acs_index is not None:
        attrs.append(f'AssertionConsumerServiceIndex="{acs_index}"')
    if protocol_binding is not None:
        attrs.append(f'ProtocolBinding="{protocol_binding}"')
    if force_authn:
        attrs.append('ForceAuthn="true"')
    if is_passive:
        attrs.append('IsPassive="true"')
    return (
        '<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" '
        'xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" '
        + " ".join(attrs) + extra_root_attrs + ">"
        f"<saml:Issuer>{issuer}</saml:Issuer>"
        + (f'<samlp:NameIDPolicy Format="{nameid_format}" AllowCreate="true"/>' if nameid_format else "")
        + body_extra +
        "</samlp:AuthnRequest>"
    )


def deflate_b64(data: bytes | str) -> str:
    if isinstance(data, str):
        data = data.encode()
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    return base64.b64encode(c.compress(data) + c.flush()).decode()


def redirect_query(
    xml: str | bytes,
    *,
    relay_state: str | None = None,
    sp_keypair=None,
    sig_alg: str = OC.RSA_SHA256,
    encoded: str | None = None,
    param: str = "SAMLRequest",
) -> str:
    """Build a raw Redirect-binding query string (signed when ``sp_keypair``)."""
    value = encoded if encoded is not None else deflate_b64(xml)
    parts = [f"{param}={quote(value, safe='')}"]
    if relay_state is not None:
        parts.append(f"RelayState={quote(relay_state, safe='')}")
    if sp_keypair is not None:
        parts.append(f"SigAlg={quote(sig_alg, safe='')}")
        import xmlsec

        transform = {
            OC.RSA_SHA256: xmlsec.Transform.RSA_SHA256,
            OC.RSA_SHA1: xmlsec.Transform.RSA_SHA1,
            OC.RSA_SHA512: xmlsec.Transform.RSA_SHA512,
        }[sig_alg]
        sig = OneLogin_Saml2_Utils.sign_binary("&".join(parts), sp_keypair.private_key_pem, transform)
        parts.append("Signature=" + quote(base64.b64encode(sig).decode(), safe=""))
    return "&".join(parts)


def post_form(xml: str | bytes, *, relay_state: str | None = None, sp_keypair=None,
              sign_algorithm: str = OC.RSA_SHA256, digest_algorithm: str = OC.SHA256) -> dict:
    if sp_keypair is not None:
        xml = OneLogin_Saml2_Utils.add_sign(
            xml, sp_keypair.private_key_pem, sp_keypair.certificate_pem,
            sign_algorithm=sign_algorithm, digest_algorithm=digest_algorithm,
        )
    if isinstance(xml, str):
        xml = xml.encode()
    form = {"SAMLRequest": base64.b64encode(xml).decode()}
    if relay_state is not None:
        form["RelayState"] = relay_state
    return form


def query_params(raw_query: str) -> dict:
    return {k: v[0] for k, v in parse_qs(raw_query).items()}


class StackSp:
    """A python3-saml strict SP wired to one app of the running IdP."""

    def __init__(self, stack, app: dict, certs: list[str] | None = None, sp_keypair=None):
        self.app = app
        self.slug = app["slug"]
        self.entity_id = app["sp_entity_id"]
        self.acs_url = app["acs_urls"][0]
        self.idp_entity_id = app["idp_entity_id"]
        self.sso_url = app["sso_url"]
        if certs is None:
            md = requests.get(app["metadata_url"], timeout=10).text
            parsed = OneLogin_Saml2_IdPMetadataParser.parse(md)["idp"]
            certs = parsed.get("x509certMulti", {}).get("signing") or [parsed["x509cert"]]
        self.settings = sp_settings(
            certs, sp_entity_id=self.entity_id, acs_url=self.acs_url, idp_entity_id=self.idp_entity_id,
            sso_url=self.sso_url, slo_url=app["sso_url"] + "/slo", sp_keypair=sp_keypair,
            authn_requests_signed=sp_keypair is not None,
        )

    def redirect_login(self, **kw):
        req_id, query = sp_redirect_login(self.settings, **kw)
        return req_id, f"{self.sso_url}?{query}"

    def accepts(self, form, request_id):
        assert form is not None and form.saml_response, "no SAMLResponse form"
        assert form.action == self.acs_url
        return sp_accepts(self.settings, form.saml_response, request_id, acs_url=self.acs_url)

    def rejects(self, form, request_id):
        return sp_rejects(self.settings, form.saml_response, request_id, acs_url=self.acs_url)


#: An SP's metadata (two POST ACS out of index order, an artifact one, SLO, a signing and an encryption key).
SP_METADATA = """<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#"
  entityID="acme.officespacesoftware.com">
 <md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol" AuthnRequestsSigned="true">
  <md:KeyDescriptor use="encryption"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>ENC</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
  <md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>
    MIIB
    SIGN</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
  <md:SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://acme.officespacesoftware.com/saml/slo"/>
  <md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://acme.officespacesoftware.com/b" index="2"/>
  <md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Artifact" Location="https://acme.officespacesoftware.com/art" index="0"/>
  <md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://acme.officespacesoftware.com/a" index="1"/>
 </md:SPSSODescriptor>
</md:EntityDescriptor>"""
