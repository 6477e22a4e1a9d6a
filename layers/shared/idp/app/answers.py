"""Answers more than one use case gives (each use case's own answers live beside it)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class UnknownApp:
    """No app has this slug (the SSO URL, single logout, the metadata and the certificate alike)."""

    slug: str
