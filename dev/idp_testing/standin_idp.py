"""A throw-away SAML IdP for testing the OfficeSpace stand-in, built only from python3-saml
utilities and `cryptography` — deliberately NOT the product's `idp` package.

Shared by tests/unit/standin and tests/integration/standin (whose conftest puts this folder on
sys.path).
"""
from __future__ import annotations

import base64
import threading
import uuid
import zlib
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, quote, urlsplit
from xml.sax.saxutils import escape, quoteattr

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID
from onelogin.saml2.constants import OneLogin_Saml2_Constants as C
from onelogin.saml2.utils import OneLogin_Saml2_Utils

NS_SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
NS_SAMLP = "urn:oasis:names:tc:SAML:2.0:protocol"


@lru_cache(maxsize=None)
def keypair(common_name: str = "test-idp") -> tuple[str, str]:
    """(private key PEM, self-signed certificate PEM), RSA-2048, cached per name."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.now(timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=365)).sign(key, hashes.SHA256()))
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    return key_pem, cert.public_bytes(serialization.Encoding.PEM).decode()


def saml_time(dt: datetime) -> str:
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def new_id() -> str:
    return "_" + uuid.uuid4().hex


def cert_body(cert_pem: str) -> str:
    return "".join(line for line in cert_pem.strip().splitlines() if "CERTIFICATE" not in line)


def decode_redirect_request(saml_request: str) -> bytes:
    """Inflate an HTTP-Redirect binding SAMLRequest (size-capped)."""
    inflater = zlib.decompressobj(-15)
    xml = inflater.decompress(base64.b64decode(saml_request), 1_000_000)
    assert not inflater.unconsumed_tail
    return xml


class TestIdP:
    __test__ = False  # not a pytest class

    def __init__(self, base_url: str = "http://idp.test.invalid", slug: str = "officespace", key_name: str = "test-idp"):
        self.base_url = base_url.rstrip("/")
        self.slug = slug
        self.key_pem, self.cert_pem = keypair(key_name)

    @property
    def entity_id(self) -> str:
        return f"{self.base_url}/saml2/{self.slug}"

    @property
    def sso_url(self) -> str:
        return f"{self.base_url}/saml2/{self.slug}"

    @property
    def slo_url(self) -> str:
        return f"{self.base_url}/saml2/{self.slug}/slo"

    @property
    def metadata_path(self) -> str:
        return f"/saml2/{self.slug}/metadata"

    def rotate(self, key_name: str) -> None:
        self.key_pem, self.cert_pem = keypair(key_name)

    def idp_settings(self) -> dict:
        """What the stand-in would parse out of metadata_xml() (for unit tests without HTTP)."""
        return {"entityId": self.entity_id,
                "singleSignOnService": {"url": self.sso_url, "binding": C.BINDING_HTTP_REDIRECT},
                "singleLogoutService": {"url": self.slo_url, "binding": C.BINDING_HTTP_REDIRECT},
                "x509cert": cert_body(self.cert_pem)}

    def metadata_xml(self) -> str:
        return f"""<?xml version="1.0"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID={quoteattr(self.entity_id)}>
  <md:IDPSSODescriptor WantAuthnRequestsSigned="false" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{cert_body(self.cert_pem)}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
    <md:SingleLogoutService Binding="{C.BINDING_HTTP_REDIRECT}" Location={quoteattr(self.slo_url)}/>
    <md:NameIDFormat>{C.NAMEID_EMAIL_ADDRESS}</md:NameIDFormat>
    <md:SingleSignOnService Binding="{C.BINDING_HTTP_REDIRECT}" Location={quoteattr(self.sso_url)}/>
  </md:IDPSSODescriptor>
</md:EntityDescriptor>
"""

    def response_xml(
        self, *, acs_url: str, audience: str, nameid: str, in_response_to: str | None = None,
        attributes: dict[str, list[str]] | None = None, session_index: str | None = None,
        nameid_format: str = C.NAMEID_EMAIL_ADDRESS, destination: str | None = None, issuer: str | None = None,
        lifetime: timedelta = timedelta(minutes=5), now: datetime | None = None,
        sign_assertion: bool = True, sign_response: bool = True,
        sign_algorithm: str = C.RSA_SHA256, digest_algorithm: str = C.SHA256,
        subject_in_response_to: str | None = None, key_pem: str | None = None, cert_pem: str | None = None,
        response_id: str | None = None, assertion_id: str | None = None,
    ) -> str:
        now = now or datetime.now(timezone.utc).replace(microsecond=0)
        issuer = issuer or self.entity_id
        key_pem, cert_pem = key_pem or self.key_pem, cert_pem or self.cert_pem
        irt = f" InResponseTo={quoteattr(in_response_to)}" if in_response_to else ""
        sirt_value = subject_in_response_to if subject_in_response_to is not None else in_response_to
        sirt = f" InResponseTo={quoteattr(sirt_value)}" if sirt_value else ""
        attributes = {"email": [nameid]} if attributes is None else attributes
        attrs = "".join(
            f'<saml:Attribute Name={quoteattr(name)} NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:basic">'
            + "".join(f'<saml:AttributeValue xsi:type="xs:string">{escape(v)}</saml:AttributeValue>' for v in values)
            + "</saml:Attribute>"
            for name, values in attributes.items()
        )
        attr_statement = f"<saml:AttributeStatement>{attrs}</saml:AttributeStatement>" if attributes else ""
        assertion = (
            f'<saml:Assertion xmlns:saml="{NS_SAML}" xmlns:xs="http://www.w3.org/2001/XMLSchema" '
            f'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" ID="{assertion_id or new_id()}" Version="2.0" '
            f'IssueInstant="{saml_time(now)}">'
            f"<saml:Issuer>{escape(issuer)}</saml:Issuer>"
            f"<saml:Subject><saml:NameID Format={quoteattr(nameid_format)}>{escape(nameid)}</saml:NameID>"
            f'<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer">'
            f'<saml:SubjectConfirmationData NotOnOrAfter="{saml_time(now + lifetime)}" Recipient={quoteattr(acs_url)}{sirt}/>'
            f"</saml:SubjectConfirmation></saml:Subject>"
            f'<saml:Conditions NotBefore="{saml_time(now - timedelta(seconds=30))}" NotOnOrAfter="{saml_time(now + lifetime)}">'
            f"<saml:AudienceRestriction><saml:Audience>{escape(audience)}</saml:Audience></saml:AudienceRestriction>"
            f"</saml:Conditions>"
            f'<saml:AuthnStatement AuthnInstant="{saml_time(now)}" SessionIndex={quoteattr(session_index or new_id())}>'
            f"<saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"
            f"</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>"
            f"{attr_statement}</saml:Assertion>"
        )
        if sign_assertion:
            # Sign the Assertion on its own first (add_sign finds the first Issuer from the root).
            assertion = _text(OneLogin_Saml2_Utils.add_sign(assertion, key_pem, cert_pem, sign_algorithm=sign_algorithm,
                                                            digest_algorithm=digest_algorithm))
            assertion = assertion.split("?>", 1)[1] if assertion.startswith("<?xml") else assertion
        response = (
            f'<samlp:Response xmlns:samlp="{NS_SAMLP}" xmlns:saml="{NS_SAML}" ID="{response_id or new_id()}" Version="2.0" '
            f'IssueInstant="{saml_time(now)}" Destination={quoteattr(destination or acs_url)}{irt}>'
            f"<saml:Issuer>{escape(issuer)}</saml:Issuer>"
            f'<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>'
            f"{assertion}</samlp:Response>"
        )
        if sign_response:
            response = _text(OneLogin_Saml2_Utils.add_sign(response, key_pem, cert_pem, sign_algorithm=sign_algorithm,
                                                           digest_algorithm=digest_algorithm))
        return response

    def logout_response_query(self, *, in_response_to: str, destination: str, sign: bool = True,
                              relay_state: str | None = None) -> str:
        """The raw query string of an HTTP-Redirect LogoutResponse (signed over the raw octets)."""
        xml = (f'<samlp:LogoutResponse xmlns:samlp="{NS_SAMLP}" xmlns:saml="{NS_SAML}" ID="{new_id()}" Version="2.0" '
               f'IssueInstant="{saml_time(datetime.now(timezone.utc))}" Destination={quoteattr(destination)} '
               f'InResponseTo={quoteattr(in_response_to)}><saml:Issuer>{escape(self.entity_id)}</saml:Issuer>'
               f'<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>'
               f"</samlp:LogoutResponse>")
        compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
        deflated = compressor.compress(xml.encode()) + compressor.flush()
        parts = [f"SAMLResponse={quote(base64.b64encode(deflated).decode(), safe='')}"]
        if relay_state is not None:
            parts.append(f"RelayState={quote(relay_state, safe='')}")
        if not sign:
            return "&".join(parts)
        parts.append(f"SigAlg={quote(C.RSA_SHA256, safe='')}")
        signed = "&".join(parts).encode()
        key = serialization.load_pem_private_key(self.key_pem.encode(), password=None)
        signature = key.sign(signed, padding.PKCS1v15(), hashes.SHA256())
        return "&".join([*parts, f"Signature={quote(base64.b64encode(signature).decode(), safe='')}"])

    def response(self, **kwargs) -> str:
        """The base64 SAMLResponse the HTTP-POST binding carries."""
        return base64.b64encode(self.response_xml(**kwargs).encode()).decode()


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else value


def tamper(saml_response_b64: str, old: str, new: str) -> str:
    xml = base64.b64decode(saml_response_b64).decode()
    assert old in xml, f"{old!r} not in the Response"
    return base64.b64encode(xml.replace(old, new).encode()).decode()


class MetadataServer:
    """Serves a TestIdP's metadata over HTTP (404 while ``available`` is False); records AuthnRequests."""

    def __init__(self, idp_factory=None):
        self.available = True
        self.hits = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                path = urlsplit(self.path).path
                if outer.idp is not None and path == outer.idp.metadata_path and outer.available:
                    outer.hits += 1
                    body = outer.idp.metadata_xml().encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "application/samlmetadata+xml")
                else:
                    body = b"not found"
                    self.send_response(404)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.idp = idp_factory(self.base_url) if idp_factory else TestIdP(self.base_url)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def authn_request_from_location(location: str) -> tuple[bytes, dict[str, str]]:
    """(AuthnRequest XML, query) from the redirect the SP sends the browser to."""
    query = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
    return decode_redirect_request(query["SAMLRequest"]), query


def wsgi_request(app, method: str, path: str, *, query: str = "", body: bytes = b"", content_type: str = "",
                 headers: dict[str, str] | None = None, host: str = "127.0.0.1:3001"):
    """Drive a WSGI app in-process: (status int, headers dict (lower-case, Set-Cookie joined), body bytes)."""
    import io
    from wsgiref.util import setup_testing_defaults

    environ = {"REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": query, "HTTP_HOST": host,
               "CONTENT_LENGTH": str(len(body)), "wsgi.input": io.BytesIO(body)}
    if content_type:
        environ["CONTENT_TYPE"] = content_type
    for name, value in (headers or {}).items():
        environ["HTTP_" + name.upper().replace("-", "_")] = value
    setup_testing_defaults(environ)
    captured = {}

    def start_response(status, response_headers, exc_info=None):
        captured["status"] = int(status.split()[0])
        merged: dict[str, str] = {}
        for k, v in response_headers:
            merged[k.lower()] = f"{merged[k.lower()]}\n{v}" if k.lower() in merged else v
        captured["headers"] = merged

    out = b"".join(app(environ, start_response))
    return captured["status"], captured["headers"], out
