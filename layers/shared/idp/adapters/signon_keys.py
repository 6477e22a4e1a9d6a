"""The device-cookie key: 256 random bits, one per stack, an SSM SecureString read and written through
the SecretStore. It lives at ``apps/_signon/signing-keys/device-cookie`` under SSM_PREFIX because the
template already lets the login function read ``apps/*/signing-keys/*`` and the admin function write
``apps/*`` (no app slug can start with ``_``), so no new grant or resource is needed. The admin API
creates it, without reading it, when a password is first set; any process allowed to write creates it on first use too
(the local stack); where writing is denied (the login function), device cookies wait until it exists."""
from __future__ import annotations

import base64
import secrets
import threading
import time

from aws_lambda_powertools import Logger

log = Logger(child=True)

DEVICE_KEY_NAME = "apps/_signon/signing-keys/device-cookie"
_MISSING_RETRY = 60.0  # seconds before a missing key is looked up again


class DeviceKey:
    """The key as bytes (None while it cannot be had); reads are cached by the SecretStore, a miss here."""

    def __init__(self, secrets_store, clock=time.monotonic):
        self.secrets = secrets_store
        self.clock = clock
        self._missing_since: float | None = None
        self._lock = threading.Lock()

    def get(self) -> bytes | None:
        """The key, creating it when it does not exist yet and this process may write it."""
        with self._lock:
            if self._missing_since is not None and self.clock() - self._missing_since < _MISSING_RETRY:
                return None
        try:
            value = self.secrets.get(DEVICE_KEY_NAME) or self._create()
        except Exception:  # no device key means no device cookies, never a failed login
            log.exception("device-cookie key unavailable; sign-ins work without device cookies")
            value = None
        with self._lock:
            self._missing_since = None if value else self.clock()
        return base64.urlsafe_b64decode(value) if value else None

    def ensure(self) -> None:
        """Create the key if it does not exist (the admin API calls this when a password is set). It never reads
        the key: the admin API's role may create it (PutParameter without overwrite) but only the login function
        may read a key under signing-keys/. A failure is logged, never raised."""
        with self._lock:
            self._missing_since = None
        try:
            self.secrets.create(DEVICE_KEY_NAME, base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())
        except Exception:  # no device key means no device cookies, never a failed change
            log.exception("device-cookie key not created; sign-ins work without device cookies until it is")

    def _create(self) -> str | None:
        from botocore.exceptions import ClientError

        try:
            self.secrets.put(DEVICE_KEY_NAME, base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())
        except ClientError as exc:
            if exc.response["Error"]["Code"] in ("AccessDeniedException", "AccessDenied"):
                log.warning("device-cookie key not created here (no write access); the admin API creates it")
                return None
            raise
        self.secrets.invalidate(DEVICE_KEY_NAME)  # two first writers at once: both settle on what SSM kept
        log.info("device-cookie key created")
        return self.secrets.get(DEVICE_KEY_NAME)
