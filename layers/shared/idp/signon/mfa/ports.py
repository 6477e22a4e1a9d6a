"""What the MFA service needs from outside: the store of factors, recovery code hashes and the
policy; the sealer that encrypts TOTP seeds at rest; and a throttle (the sign-on store's counters)."""
from __future__ import annotations

from typing import Protocol

from idp.signon.mfa.policy import MfaPolicy
from idp.signon.policy import Throttle


class MfaStore(Protocol):
    def get_policy(self) -> MfaPolicy: ...

    def put_policy(self, policy: MfaPolicy) -> None: ...

    def factors(self, uid: str, *, include_pending: bool = False) -> list[dict]:
        """The user's factors (``id``, ``type``, ``name``, ``created_at``, ``last_used_at`` and the type's own fields)."""

    def factor_types(self, uid: str) -> list[str]:
        """The types of the user's live factors (what every sign-in asks: one read, not a listing)."""

    def get_factor(self, uid: str, fid: str) -> dict | None: ...

    def put_factor(self, uid: str, factor: dict, *, pending_ttl: int | None = None) -> None:
        """Write a factor; ``pending_ttl``: an enrolment not yet confirmed, forgotten after that many seconds."""

    def confirm_factor(self, uid: str, fid: str, *, timecode: int, now: int) -> bool:
        """A pending TOTP factor becomes live with its first accepted timecode (False when gone meanwhile)."""

    def accept_timecode(self, uid: str, fid: str, timecode: int, now: int) -> bool:
        """Record ``timecode`` as the factor's last accepted one only if it is later (atomic): False on a replay."""

    def update_sign_count(self, uid: str, fid: str, sign_count: int, now: int) -> bool:
        """Store a passkey's new sign counter only if it grew (or both are 0): False when a clone got there first."""

    def rename_factor(self, uid: str, fid: str, name: str) -> bool: ...

    def delete_factor(self, uid: str, fid: str) -> bool: ...

    def delete_all(self, uid: str) -> int:
        """Every factor and the recovery codes of the user; returns how many factors went."""

    def put_recovery(self, uid: str, hashes: list[str]) -> None: ...

    def recovery_left(self, uid: str) -> int: ...

    def use_recovery(self, uid: str, code_hash: str) -> bool:
        """Remove ``code_hash`` from the user's codes (atomic): False when it is not one of them (or was used)."""

    def put_challenge(self, challenge: str, *, purpose: str, bound_to: str, ttl: int) -> None:
        """Remember a WebAuthn challenge we issued (``purpose``: register / authenticate; ``bound_to``: a user or a login)."""

    def take_challenge(self, challenge: str, *, purpose: str, bound_to: str) -> bool:
        """True once for a live challenge issued for this purpose and binding (atomic)."""


class SealKeyUnavailable(RuntimeError):
    """The seal key does not exist yet and this process may not create it (a `SeedSealer` raises it)."""


class SeedSealer(Protocol):
    def seal(self, secret: str, context: str) -> str:
        """Encrypt a TOTP seed bound to ``context`` (user and factor id)."""

    def unseal(self, sealed: str, context: str) -> str: ...


class ThrottleCounters(Protocol):
    def throttle(self, kind: str, key: str) -> Throttle: ...

    def record_failure(self, kind: str, key: str) -> Throttle: ...

    def clear_failures(self, kind: str, key: str) -> None: ...
