"""The device cookie: proof that this browser has signed in to an account before, so failures from
elsewhere do not throttle it (only its own failures do). It holds a random device id, the account id,
the time of the last sign-in and an HMAC-SHA256 over them with the stack's device key; nothing is
stored server-side. Pure: the key and the clock are handed in."""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass

_VERSION = "v1"
_MAX_LENGTH = 512


@dataclass(frozen=True)
class KnownDevice:
    """A device cookie that verified: the browser's id and the account it signed in to."""

    device_id: str
    uid: str
    issued_at: int


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> str:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()


def _mac(key: bytes, device_id: str, issued_at: int, uid_b64: str) -> str:
    message = f"idp-device|{_VERSION}|{device_id}|{issued_at}|{uid_b64}".encode()
    return _b64(hmac.new(key, message, hashlib.sha256).digest())


def new_device_id() -> str:
    return secrets.token_urlsafe(16)


def issue(key: bytes, uid: str, now: int, device_id: str | None = None) -> str:
    """The cookie value for a browser that just signed in as ``uid`` (keeping its device id when it has one)."""
    device_id = device_id or new_device_id()
    uid_b64 = _b64(uid.encode())
    return ".".join((_VERSION, device_id, str(int(now)), uid_b64, _mac(key, device_id, int(now), uid_b64)))


def verify(key: bytes | None, value: str | None, *, now: int, max_age: int) -> KnownDevice | None:
    """The device behind a cookie value, when its MAC verifies and it is not older than ``max_age``; else None."""
    if not key or not value or len(value) > _MAX_LENGTH:
        return None
    parts = value.split(".")
    if len(parts) != 5 or parts[0] != _VERSION:
        return None
    _v, device_id, issued, uid_b64, mac = parts
    if not issued.isdigit() or not hmac.compare_digest(mac.encode(), _mac(key, device_id, int(issued), uid_b64).encode()):
        return None
    if now - int(issued) > max_age or int(issued) - now > 300:  # too old, or from the future (beyond clock skew)
        return None
    try:
        uid = _unb64(uid_b64)
    except ValueError:
        return None
    return KnownDevice(device_id, uid, int(issued))
