"""Signing key pairs (IdP) and SP certificate handling."""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta, timezone
from typing import TypedDict

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from idp.saml.pem import PEM_BLOCK, certificate_body  # noqa: F401 - certificate_body is part of this module's API


@dataclass(frozen=True)
class GeneratedKey:
    private_key_pem: str
    certificate_pem: str
    fingerprint_sha256: str  # colon-separated upper hex
    not_before: str  # ISO 8601, UTC
    not_after: str
    kid: str  # short stable id derived from the certificate ("k" + 16 hex chars)

    def public_dict(self) -> dict[str, str]:
        """Everything but the private key (safe to store in DynamoDB / return to admins)."""
        d = asdict(self)
        d.pop("private_key_pem")
        return d


def _iso(dt: datetime) -> str:
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _fingerprint(cert: x509.Certificate, algorithm: hashes.HashAlgorithm | None = None) -> str:
    raw = cert.fingerprint(algorithm or hashes.SHA256())
    return ":".join(f"{b:02X}" for b in raw)


def kid_for_certificate(cert_pem: str) -> str:
    cert = x509.load_pem_x509_certificate(cert_pem.encode())
    return "k" + cert.fingerprint(hashes.SHA256()).hex()[:16]


def generate_signing_key(common_name: str, days: int = 3650) -> GeneratedKey:
    """RSA-2048 key and a self-signed X.509 certificate (SHA-256) valid for ``days``."""
    if not common_name or not common_name.strip():
        raise ValueError("common_name must not be empty")
    if days < 1:
        raise ValueError("days must be at least 1")
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name.strip()[:64])])
    now = datetime.now(timezone.utc).replace(microsecond=0)
    not_before = now - timedelta(minutes=5)
    not_after = now + timedelta(days=days)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    cert_pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    return GeneratedKey(
        private_key_pem=key_pem,
        certificate_pem=cert_pem,
        fingerprint_sha256=_fingerprint(cert),
        not_before=_iso(cert.not_valid_before_utc),
        not_after=_iso(cert.not_valid_after_utc),
        kid="k" + cert.fingerprint(hashes.SHA256()).hex()[:16],
    )


class CertificateInfo(TypedDict):
    """What certificate_info tells of a certificate."""

    subject: str
    issuer: str
    serial_number: str
    not_before: str
    not_after: str
    fingerprint_sha256: str
    fingerprint_sha1: str
    key_type: str
    key_size: int | None
    expired: bool
    days_left: int
    kid: str


def certificate_info(pem: str) -> CertificateInfo:
    """Facts about a PEM certificate, for the admin API and expiry checks."""
    cert = x509.load_pem_x509_certificate(normalize_sp_certificate(pem).encode())
    pub = cert.public_key()
    key_size: int | None
    if isinstance(pub, rsa.RSAPublicKey):
        key_type, key_size = "RSA", pub.key_size
    elif isinstance(pub, ec.EllipticCurvePublicKey):
        key_type, key_size = "EC", pub.curve.key_size
    else:  # pragma: no cover - rejected by normalize_sp_certificate
        key_type, key_size = type(pub).__name__, None
    now = datetime.now(timezone.utc)
    return {
        "subject": cert.subject.rfc4514_string(),
        "issuer": cert.issuer.rfc4514_string(),
        "serial_number": format(cert.serial_number, "x"),
        "not_before": _iso(cert.not_valid_before_utc),
        "not_after": _iso(cert.not_valid_after_utc),
        "fingerprint_sha256": _fingerprint(cert),
        "fingerprint_sha1": _fingerprint(cert, hashes.SHA1()),
        "key_type": key_type,
        "key_size": key_size,
        "expired": cert.not_valid_after_utc <= now,
        "days_left": int((cert.not_valid_after_utc - now).total_seconds() // 86400),
        "kid": "k" + cert.fingerprint(hashes.SHA256()).hex()[:16],
    }


_PEM_BLOCK = PEM_BLOCK


def normalize_sp_certificate(pem: str) -> str:
    """Return a canonical PEM certificate, or raise ValueError saying what is wrong.

    Accepts a PEM ``CERTIFICATE`` block or the bare base64 body (as copied from SP
    metadata's ``ds:X509Certificate``), with any line breaks / whitespace.
    """
    if not isinstance(pem, str) or not pem.strip():
        raise ValueError("sp_certificate is empty; paste the SP's X.509 certificate in PEM format")
    text = pem.strip()
    blocks = _PEM_BLOCK.findall(text)
    if blocks:
        kinds = [k for k, _ in blocks]
        if any("PRIVATE KEY" in k for k in kinds):
            raise ValueError("sp_certificate contains a PRIVATE KEY; paste only the SP's certificate (never its private key)")
        certs = [body for k, body in blocks if k == "CERTIFICATE"]
        if not certs:
            raise ValueError(f"sp_certificate holds a {kinds[0]} block, not a CERTIFICATE")
        if len(certs) > 1:
            raise ValueError("sp_certificate holds more than one certificate; paste only the SP's signing certificate")
        body = certs[0]
    elif "-----BEGIN" in text:
        raise ValueError("sp_certificate has a BEGIN line without a matching END line")
    else:
        body = text
    body = re.sub(r"\s+", "", body)
    try:
        der = base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("sp_certificate is not a PEM certificate (its body is not base64)") from None
    try:
        cert = x509.load_der_x509_certificate(der)
    except ValueError:
        raise ValueError("sp_certificate is not a valid X.509 certificate") from None
    pub = cert.public_key()
    if isinstance(pub, rsa.RSAPublicKey):
        if pub.key_size < 2048:
            raise ValueError(f"sp_certificate has a {pub.key_size}-bit RSA key; at least 2048 bits are required")
    elif not isinstance(pub, ec.EllipticCurvePublicKey):
        raise ValueError("sp_certificate must hold an RSA or EC public key")
    return cert.public_bytes(serialization.Encoding.PEM).decode()


