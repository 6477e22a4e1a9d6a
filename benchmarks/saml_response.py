"""Benchmark 1: build and sign one SAML Response (Response and Assertion both signed, RSA-2048).

- ours: ``idp.saml.response.build_response`` (python-xmlsec in-process, cached ``xmlsec.Key``);
- pysaml2's IdP: ``saml2.server.Server.create_authn_response(sign_response=True, sign_assertion=True)``
  (it signs through the ``xmlsec1`` binary, one subprocess a signature);
- the floor: two raw RSA-2048 PKCS#1 v1.5 / SHA-256 signatures with ``cryptography`` (the two
  signatures any signed-both Response needs, with nothing else around them).

Each side gets the same key, the same user, the same attributes and base64-encodes its XML.
"""
from __future__ import annotations

import base64
import shutil
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

from .common import summary_ms, time_calls

IDP_ENTITY_ID = "https://idp.example.com/saml2/officespace"
SP_ENTITY_ID = "https://acme.officespacesoftware.com"
ACS_URL = "https://acme.officespacesoftware.com/users/sign_in/saml"
USER = {"email": "alice@example.com", "name": "Alice Archer", "first_name": "Alice", "last_name": "Archer"}
SESSION_INDEX = "_s0123456789abcdef"
REQUEST_ID = "_rq0123456789abcdef0123456789"

_SP_METADATA = f"""<?xml version="1.0"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="{SP_ENTITY_ID}">
  <md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"
                      AuthnRequestsSigned="false" WantAssertionsSigned="true">
    <md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress</md:NameIDFormat>
    <md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
                                 Location="{ACS_URL}" index="0" isDefault="true"/>
  </md:SPSSODescriptor>
</md:EntityDescriptor>
"""


@dataclass
class KeyMaterial:
    private_key_pem: str
    certificate_pem: str
    kid: str


_KEY: KeyMaterial | None = None


def key_material() -> KeyMaterial:
    """One RSA-2048 key pair and self-signed certificate, made by the IdP's own generator."""
    global _KEY
    if _KEY is None:
        from idp.saml.keys import generate_signing_key

        g = generate_signing_key("idp.example.com")
        _KEY = KeyMaterial(g.private_key_pem, g.certificate_pem, g.kid)
    return _KEY


def count_signatures(xml: bytes) -> int:
    return xml.count(b"SignatureValue>") // 2  # opening and closing tags


# ------------------------------------------------------------------ ours
def make_ours():
    """A zero-argument callable that builds, signs (both) and base64-encodes one Response."""
    from idp.saml.response import ResponseParams, build_response
    from idp.saml.signing import SigningKey

    km = key_material()
    key = SigningKey(km.private_key_pem, km.certificate_pem, kid=f"bench/{km.kid}")
    params = ResponseParams(
        idp_entity_id=IDP_ENTITY_ID, acs_url=ACS_URL, sp_entity_id=SP_ENTITY_ID, nameid=USER["email"],
        attributes={k: [v] for k, v in USER.items()}, session_index=SESSION_INDEX, in_response_to=REQUEST_ID,
        sign="both",
    )

    def one() -> str:
        return build_response(params, key)

    xml = base64.b64decode(one())
    assert count_signatures(xml) == 2, "our Response should carry two signatures"
    return one


def bench_ours(n: int) -> dict:
    return summary_ms(time_calls(make_ours(), n))


# ------------------------------------------------------------------ pysaml2
def pysaml2_available() -> str | None:
    """None when pysaml2 and xmlsec1 are there, else why not."""
    try:
        import saml2  # noqa: F401
    except ImportError:
        return "pysaml2 is not installed (pip install pysaml2==7.5.5, or `make bench`)"
    if not shutil.which("xmlsec1"):
        return "Debian's xmlsec1 binary is not installed (apt-get install xmlsec1, or `make bench`)"
    return None


def make_pysaml2(workdir: Path):
    """A callable that has pysaml2's IdP build, sign (both) and base64-encode one Response."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
        from saml2.config import IdPConfig
        from saml2.saml import NAME_FORMAT_BASIC, NAMEID_FORMAT_EMAILADDRESS
        from saml2.server import Server

    km = key_material()
    key_file, cert_file = workdir / "idp.key", workdir / "idp.crt"
    key_file.write_text(km.private_key_pem)
    cert_file.write_text(km.certificate_pem)
    config = {
        "entityid": IDP_ENTITY_ID,
        "service": {"idp": {
            "endpoints": {"single_sign_on_service": [(IDP_ENTITY_ID, BINDING_HTTP_REDIRECT),
                                                     (IDP_ENTITY_ID, BINDING_HTTP_POST)]},
            "name_id_format": [NAMEID_FORMAT_EMAILADDRESS],
            "policy": {"default": {"lifetime": {"minutes": 5}, "attribute_restrictions": None,
                                   "name_form": NAME_FORMAT_BASIC, "sign_response": True,
                                   "sign_assertion": True}},
        }},
        "key_file": str(key_file),
        "cert_file": str(cert_file),
        "metadata": {"inline": [_SP_METADATA]},
        "xmlsec_binary": shutil.which("xmlsec1"),
        "crypto_backend": "xmlsec1",
        "signing_algorithm": "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
        "digest_algorithm": "http://www.w3.org/2001/04/xmlenc#sha256",
        "allow_unknown_attributes": True,
    }
    cfg = IdPConfig()
    cfg.load(config)
    server = Server(config=cfg)
    from saml2.saml import NameID

    name_id = NameID(format=NAMEID_FORMAT_EMAILADDRESS, text=USER["email"])
    authn = {"class_ref": "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport",
             "authn_instant": None}
    identity = {k: [v] for k, v in USER.items()}

    def one() -> str:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            resp = server.create_authn_response(
                identity, in_response_to=REQUEST_ID, destination=ACS_URL, sp_entity_id=SP_ENTITY_ID,
                name_id=name_id, authn=authn, sign_response=True, sign_assertion=True,
                sign_alg=config["signing_algorithm"], digest_alg=config["digest_algorithm"],
            )
        return base64.b64encode(str(resp).encode()).decode("ascii")

    xml = base64.b64decode(one())
    assert count_signatures(xml) == 2, "pysaml2's Response should carry two signatures"
    return one


def bench_pysaml2(n: int) -> dict:
    why = pysaml2_available()
    if why:
        return {"skipped": why}
    with tempfile.TemporaryDirectory(prefix="bench-pysaml2-") as tmp:
        return summary_ms(time_calls(make_pysaml2(Path(tmp)), n, warmup=2))


# ------------------------------------------------------------------ floor
def make_floor():
    """Two raw RSA-2048 signatures (PKCS#1 v1.5, SHA-256) over a SignedInfo-sized message."""
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding

    km = key_material()
    key = serialization.load_pem_private_key(km.private_key_pem.encode(), password=None)
    message = b"<ds:SignedInfo>" + b"x" * 600 + b"</ds:SignedInfo>"
    pad, alg = padding.PKCS1v15(), hashes.SHA256()

    def one() -> tuple[bytes, bytes]:
        return key.sign(message, pad, alg), key.sign(message, pad, alg)

    return one


def bench_floor(n: int) -> dict:
    return summary_ms(time_calls(make_floor(), n))


# ------------------------------------------------------------------ profile
def profile_ours(n: int = 200, top: int = 12) -> list[tuple[str, float, float]]:
    """(function, cumulative ms per Response, own ms per Response) of the costliest calls."""
    import cProfile
    import pstats

    one = make_ours()
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(n):
        one()
    prof.disable()
    stats = pstats.Stats(prof)
    rows = []
    for (file, line, func), (_cc, _nc, tt, ct, _callers) in stats.stats.items():
        where = f"{Path(file).name}:{line}({func})" if line else func
        rows.append((where, ct * 1000 / n, tt * 1000 / n))
    rows.sort(key=lambda r: r[1], reverse=True)
    return [r for r in rows if "profile_ours" not in r[0] and "<module>" not in r[0]][:top]


def run(n_ours: int, n_pysaml2: int, n_floor: int) -> dict:
    from .saml_prototype import bench_prototype

    out = {"ours": bench_ours(n_ours), "floor": bench_floor(n_floor), "pysaml2": bench_pysaml2(n_pysaml2)}
    try:
        out["prototype"] = bench_prototype(n_ours)
    except Exception as exc:  # noqa: BLE001 - a what-if row must not sink the benchmark
        out["prototype"] = {"skipped": f"{type(exc).__name__}: {exc}"}
    return out
