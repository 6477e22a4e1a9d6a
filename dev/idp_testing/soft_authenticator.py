"""A software WebAuthn authenticator for HTTP-level tests (no browser): it answers registration options
with a "none" attestation and request options with an ES256 assertion, exactly as a platform
authenticator with resident keys and user verification would, and lets a test play a cloned
authenticator (a sign counter that goes back) or a phishing origin."""
from __future__ import annotations

import hashlib
import json
import os
import struct
from dataclasses import dataclass, field

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url

UP, UV, AT = 0x01, 0x04, 0x40


def _b64(data: bytes) -> str:
    return bytes_to_base64url(data)


@dataclass
class Credential:
    credential_id: bytes
    key: ec.EllipticCurvePrivateKey
    rp_id: str
    user_handle: bytes
    sign_count: int = 0


@dataclass
class SoftAuthenticator:
    origin: str
    user_verified: bool = True
    credentials: list[Credential] = field(default_factory=list)

    def _auth_data(self, rp_id: str, flags: int, count: int, attested: bytes = b"") -> bytes:
        return hashlib.sha256(rp_id.encode()).digest() + bytes([flags]) + struct.pack(">I", count) + attested

    def _client_data(self, kind: str, challenge: str, origin: str | None) -> bytes:
        return json.dumps({"type": kind, "challenge": challenge, "origin": origin or self.origin, "crossOrigin": False}).encode()

    def create(self, options_json: str, *, origin: str | None = None) -> str:
        """navigator.credentials.create(...) then credential.toJSON(), as JSON text."""
        options = json.loads(options_json)
        rp_id, key = options["rp"]["id"], ec.generate_private_key(ec.SECP256R1())
        cred = Credential(os.urandom(32), key, rp_id, base64url_to_bytes(options["user"]["id"]))
        numbers = key.public_key().public_numbers()
        cose = cbor2.dumps({1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big"), -3: numbers.y.to_bytes(32, "big")})
        attested = bytes(16) + struct.pack(">H", len(cred.credential_id)) + cred.credential_id + cose
        flags = UP | AT | (UV if self.user_verified else 0)
        auth_data = self._auth_data(rp_id, flags, 0, attested)
        client_data = self._client_data("webauthn.create", options["challenge"], origin)
        self.credentials.append(cred)
        return json.dumps({"id": _b64(cred.credential_id), "rawId": _b64(cred.credential_id), "type": "public-key",
                           "response": {"clientDataJSON": _b64(client_data),
                                        "attestationObject": _b64(cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})),
                                        "transports": ["internal"]},
                           "clientExtensionResults": {}, "authenticatorAttachment": "platform"})

    def get(self, options_json: str, *, origin: str | None = None, sign_count: int | None = None) -> str:
        """navigator.credentials.get(...) then toJSON(): the first credential allowed (any, when none are listed)."""
        options = json.loads(options_json)
        allowed = {base64url_to_bytes(c["id"]) for c in options.get("allowCredentials") or []}
        cred = next(c for c in self.credentials if c.rp_id == options["rpId"] and (not allowed or c.credential_id in allowed))
        cred.sign_count = cred.sign_count + 1 if sign_count is None else sign_count
        auth_data = self._auth_data(cred.rp_id, UP | (UV if self.user_verified else 0), cred.sign_count)
        client_data = self._client_data("webauthn.get", options["challenge"], origin)
        signature = cred.key.sign(auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256()))
        return json.dumps({"id": _b64(cred.credential_id), "rawId": _b64(cred.credential_id), "type": "public-key",
                           "response": {"clientDataJSON": _b64(client_data), "authenticatorData": _b64(auth_data),
                                        "signature": _b64(signature), "userHandle": _b64(cred.user_handle)},
                           "clientExtensionResults": {}, "authenticatorAttachment": "platform"})
