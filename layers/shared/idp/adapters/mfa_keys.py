"""The envelope key that seals TOTP seeds at rest: 256 random bits in the secret store (an SSM
SecureString, so KMS in AWS) at ``apps/_signon/signing-keys/mfa-seed-key`` beside the device-cookie
key (inside the grants the template already gives: the login function reads it, the admin API and the
console create it, without reading it, when the MFA policy is set or looked at, or a password is set). Seeds are AES-256-GCM ciphertexts bound
to their user and factor id (the associated data), so a sealed seed copied to another item is useless."""
from __future__ import annotations

import base64
import os
import secrets
import threading

from aws_lambda_powertools import Logger
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from idp.signon.mfa.ports import SealKeyUnavailable

log = Logger(child=True)

SEED_KEY_NAME = "apps/_signon/signing-keys/mfa-seed-key"
_VERSION = "v1"
__all__ = ["SEED_KEY_NAME", "SealKeyUnavailable", "SeedSealer"]


class SeedSealer:
    def __init__(self, secrets_store):
        self.secrets = secrets_store
        self._lock = threading.Lock()

    def _key(self) -> bytes:
        value = self.secrets.get(SEED_KEY_NAME)
        if not value:
            value = self._create()
        return base64.urlsafe_b64decode(value)

    def _create(self) -> str:
        from botocore.exceptions import ClientError

        with self._lock:
            try:
                self.secrets.put(SEED_KEY_NAME, base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())
            except ClientError as exc:
                raise SealKeyUnavailable("the MFA seed key does not exist yet; the admin API creates it") from exc
            self.secrets.invalidate(SEED_KEY_NAME)  # two first writers: both settle on what SSM kept
        value = self.secrets.get(SEED_KEY_NAME)
        if not value:
            raise SealKeyUnavailable("the MFA seed key could not be read back")
        return value

    def ensure(self) -> None:
        """Create the key if it does not exist (the admin API and the console call this); a failure is logged,
        never raised. It never reads the key: the console's role may create it but not read it."""
        try:
            self.secrets.create(SEED_KEY_NAME, base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())
        except Exception:  # no seed key yet means no TOTP enrolment, never a failed admin change
            log.exception("MFA seed key unavailable; authenticator-app enrolment waits for it")

    def seal(self, secret: str, context: str) -> str:
        nonce = os.urandom(12)
        sealed = AESGCM(self._key()).encrypt(nonce, secret.encode(), context.encode())
        return f"{_VERSION}.{base64.urlsafe_b64encode(nonce + sealed).decode()}"

    def unseal(self, sealed: str, context: str) -> str:
        version, _, body = sealed.partition(".")
        if version != _VERSION:
            raise ValueError(f"unknown sealed seed version {version!r}")
        raw = base64.urlsafe_b64decode(body)
        return AESGCM(self._key()).decrypt(raw[:12], raw[12:], context.encode()).decode()
