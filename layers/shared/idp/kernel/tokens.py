"""Opaque random tokens (session ids, CSRF tokens, claims) and how they are stored and compared."""
from __future__ import annotations

import hashlib
import hmac
import secrets


def hash_token(token: str) -> str:
    """What is stored of a token: its SHA-256, so a table read does not give away a usable cookie."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    """A random 256-bit token, URL-safe."""
    return secrets.token_urlsafe(32)


def same(a: str | None, b: str | None) -> bool:
    """Constant-time equality of two tokens; a missing one never matches."""
    return bool(a) and bool(b) and hmac.compare_digest(str(a).encode(), str(b).encode())
