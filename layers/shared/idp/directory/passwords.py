"""Password hashing with argon2id (argon2-cffi's RFC 9106 low-memory profile)."""
from __future__ import annotations

import argon2

_hasher = argon2.PasswordHasher()
# A hash of a random password, verified against when the user is unknown, so timing does not tell.
_DUMMY = _hasher.hash("not-a-real-password-0f2c")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when `password` matches; always spends one hash verification."""
    try:
        return _hasher.verify(password_hash or _DUMMY, password) and password_hash is not None
    except (argon2.exceptions.VerificationError, argon2.exceptions.InvalidHashError):
        return False
