"""TOTP (RFC 6238) as authenticator apps expect it: 30-second steps, 6 digits, HMAC-SHA-1, one step
of drift either way, and a code accepted once: the caller stores the matched timecode and refuses
any code whose timecode is not later than the last accepted one."""
from __future__ import annotations

import re

import pyotp
from pyotp.exceptions import OTPVerificationError

STEP = 30
DIGITS = 6
DRIFT_STEPS = 1
_CODE = re.compile(r"^\d{6}$")


def new_secret() -> str:
    """A fresh base32 seed of 160 bits (RFC 4226's recommended length for SHA-1)."""
    return pyotp.random_base32(32)


def normalize(code: str | None) -> str:
    """The code as typed, without the spaces and dashes apps show for readability."""
    return re.sub(r"[\s-]", "", code or "")


def looks_like_totp(code: str | None) -> bool:
    """Six digits (anything else may be a recovery code)."""
    return bool(_CODE.match(normalize(code)))


def _totp(secret: str) -> pyotp.TOTP:
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP)


def provisioning_uri(secret: str, *, account: str, issuer: str) -> str:
    """The ``otpauth://totp/...`` URI an authenticator app scans."""
    return _totp(secret).provisioning_uri(name=account, issuer_name=issuer)


def code_at(secret: str, for_time: float) -> str:
    """The code an authenticator shows at ``for_time`` (tests and the enrolment hint)."""
    return _totp(secret).at(for_time)


def matching_timecode(secret: str, code: str | None, *, now: float, last_timecode: int | None = None) -> int | None:
    """The timecode ``code`` belongs to (within one step of ``now``), or None when it does not match or
    was already used (its timecode is not after ``last_timecode``)."""
    code = normalize(code)
    if not _CODE.match(code):
        return None
    try:
        timecode = _totp(secret).verify_and_get_timecode(code, for_time=now, valid_window=DRIFT_STEPS)
    except OTPVerificationError:
        return None
    if last_timecode is not None and timecode <= last_timecode:
        return None
    return timecode
