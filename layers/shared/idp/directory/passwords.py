"""Password hashing with argon2id (argon2-cffi's RFC 9106 low-memory profile).

The hasher and the dummy hash are built on first use, not at import: the admin API imports this
module at cold start and hashes nothing on most requests (the dummy hash alone is one full argon2id
run, ~90 ms)."""
from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=1)
def _hasher():
    import argon2

    return argon2.PasswordHasher()


@lru_cache(maxsize=1)
def _dummy() -> str:
    """A hash of a random password, verified against when the user is unknown, so timing does not tell."""
    return _hasher().hash("not-a-real-password-0f2c")


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when `password` matches; always spends one hash verification (the first call in a
    process also builds the dummy hash, whether the user is known or not)."""
    import argon2

    dummy = _dummy()
    try:
        return _hasher().verify(password_hash or dummy, password) and password_hash is not None
    except (argon2.exceptions.VerificationError, argon2.exceptions.InvalidHashError):
        return False
