"""Recovery codes: ten one-time codes of 80 random bits each, shown once and stored only as SHA-256
hashes (80 bits leave nothing for a brute force of a leaked hash to find)."""
from __future__ import annotations

import hashlib
import secrets

COUNT = 10
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: codes are read off paper
_LENGTH = 16


def new_codes(count: int = COUNT) -> list[str]:
    """``count`` fresh codes, formatted ``xxxx-xxxx-xxxx-xxxx``."""
    out = []
    for _ in range(count):
        raw = "".join(secrets.choice(_ALPHABET) for _ in range(_LENGTH))
        out.append("-".join(raw[i:i + 4] for i in range(0, _LENGTH, 4)))
    return out


def normalize(code: str | None) -> str:
    return "".join(ch for ch in (code or "").lower() if ch.isalnum())


def hash_code(code: str) -> str:
    """The stored form of a code (of its normalized text, so dashes and case do not matter)."""
    return hashlib.sha256(("recovery:" + normalize(code)).encode()).hexdigest()


def looks_like_recovery(code: str | None) -> bool:
    n = normalize(code)
    return len(n) == _LENGTH and all(ch in _ALPHABET for ch in n)
