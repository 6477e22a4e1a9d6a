"""Timestamps as the product writes them: UTC ISO 8601 with a Z."""
from __future__ import annotations

from datetime import datetime, timezone


def now_iso() -> str:
    """Now, to the second (item timestamps, event `at`, SAML-facing times)."""
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def iso_time(epoch_seconds: float) -> str:
    """A time given in seconds since the epoch, as ``now_iso`` writes it."""
    moment = datetime.fromtimestamp(int(epoch_seconds), timezone.utc)
    return moment.isoformat().replace("+00:00", "Z")


def now_iso_ms() -> str:
    """Now, to the millisecond (sort keys of the provisioning log, where order within a second matters)."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
