"""When a second factor is needed, pure: the global policy (``off`` / ``optional`` / ``required``, an
enrolment grace period in days, which methods count), the app's override (``inherit`` /
``required``), an SP asking for the REFEDS MFA profile, the user's factors and how the session
signed in (its ``amr``). The answer is a ``Need``: nothing, verify a factor, enrol one first, or
(an SP asked for MFA and the user has no factor) the SAML status NoAuthnContext.

A factor the user enrolled is asked for even when the policy's methods no longer count it (an
administrator turned that method off): a password alone never signs in a user who chose more. Once
that factor is proven, the user enrols one of a method that counts before going on (and may: the
session passed a factor); until then no Response."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Iterable, Literal

Method = Literal["totp", "webauthn"]
METHODS: tuple[Method, ...] = ("totp", "webauthn")
#: ``amr`` values (RFC 8176) of a session: a password, a one-time code (TOTP or recovery), a passkey.
PWD, OTP, WEBAUTHN = "pwd", "otp", "webauthn"
SECOND_FACTORS = frozenset({OTP, WEBAUTHN})
DEFAULT_GRACE_DAYS = 7
DAY = 86400


@dataclass(frozen=True)
class MfaPolicy:
    """The stored policy; ``required_since`` (epoch seconds, not in the API) is when it last became
    ``required``: the grace period counts from it."""

    policy: str = "off"
    grace_days: int = DEFAULT_GRACE_DAYS
    methods: tuple[str, ...] = METHODS
    required_since: int | None = None

    def view(self) -> dict:
        return {"policy": self.policy, "grace_days": self.grace_days, "methods": list(self.methods)}

    def replaced_by(self, new, now: int) -> "MfaPolicy":
        """``new`` (a validated policy body), keeping when ``required`` began if it already was, else starting it now."""
        since = (self.required_since or now) if self.policy == "required" else now
        return MfaPolicy(new.policy, new.grace_days, tuple(new.methods), since if new.policy == "required" else None)


class Need(str, Enum):
    NONE = "none"
    VERIFY = "verify"  # pass a second factor (the user has one)
    ENROL = "enrol"  # enrol a factor before any Response
    NO_CONTEXT = "no_context"  # the SP asked for MFA and the user has no factor: NoAuthnContext


def counted(policy: MfaPolicy, factor_types: Iterable[str]) -> bool:
    """The user has a factor of a method the policy counts."""
    return any(t in policy.methods for t in factor_types)


def epoch_of(iso_or_epoch) -> int:
    """A user's ``created_at`` (ISO text, or epoch seconds) as epoch seconds; 0 when unknown."""
    if iso_or_epoch is None or iso_or_epoch == "":
        return 0
    if isinstance(iso_or_epoch, (int, float)):
        return int(iso_or_epoch)
    try:
        return int(datetime.fromisoformat(str(iso_or_epoch).replace("Z", "+00:00")).timestamp())
    except ValueError:
        return 0


def in_grace(policy: MfaPolicy, *, user_created: int, now: int) -> bool:
    """Within the enrolment grace period: counted from when ``required`` began, or the user's creation if later."""
    since = max(policy.required_since or 0, user_created)
    return now < since + policy.grace_days * DAY


def need(policy: MfaPolicy, *, app_mfa: str | None, requested_mfa: bool, factor_types: Iterable[str],
         user_created: int, now: int) -> Need:
    """What this sign-in needs before a Response (or the session) may be given, before looking at the session.
    Any enrolled factor is asked for (``VERIFY``), counted by the methods or not (``gate`` then decides)."""
    has = bool(list(factor_types))
    if requested_mfa:
        return Need.VERIFY if has else Need.NO_CONTEXT
    if app_mfa == "required":
        return Need.VERIFY if has else Need.ENROL
    if has:  # contract section 7: the second step comes when a factor is required or enrolled (policy off too)
        return Need.VERIFY
    if policy.policy == "required" and not in_grace(policy, user_created=user_created, now=now):
        return Need.ENROL
    return Need.NONE


def satisfied(amr: Iterable[str]) -> bool:
    """The session passed a second factor (or a user-verified passkey)."""
    return bool(SECOND_FACTORS.intersection(amr))


#: The method of the policy that each second-factor amr stands for (a recovery code is a one-time code too).
_METHOD_OF = {OTP: "totp", WEBAUTHN: "webauthn"}


def gate(needed: Need, amr: Iterable[str], methods: Iterable[str] = METHODS, *, holds_counted: bool = True) -> Need:
    """What is still missing for a session that signed in with ``amr``: a second factor of a method that counts.
    A user who holds no factor of a counted method (``holds_counted`` False) and whose session proved one it holds
    enrols a counted one next (``ENROL``); a session that proved nothing is asked for the factor it holds."""
    amr, counted_methods = tuple(amr), set(methods)
    if any(_METHOD_OF.get(a) in counted_methods for a in amr):
        return Need.NONE
    if needed is Need.VERIFY and not holds_counted and satisfied(amr):
        return Need.ENROL
    return needed
