"""The audit vocabulary (contract section 8), shared by every context that records what happened:
sign-on (login, mfa, sso, logout, lockout), the directory and apps (admin.<resource>.<action>) and
provisioning. A context is handed an `AuditSink` by the composition root and calls `record`; the
sink never raises into a sign-in or an admin change (a failed write is counted and logged by the
adapter, not lost silently). Events never carry secret values: `changes` names the fields whose value
changed, and `detail` is for short, non-secret facts (an ACS URL, a SCIM status, and a change's values
before and after, from `value_changes`, which never carries a secret field's)."""
from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any, ContextManager, Iterable, Mapping, Protocol

OUTCOMES = frozenset({"success", "failure"})
ACTOR_TYPES = frozenset({"user", "admin", "system", "source"})
# Field names whose values are secrets: they may be named in `changes`, never carried in `detail`.
SECRET_FIELDS = frozenset({"password", "password_hash", "token", "scim_token", "private_key", "key", "secret",
                           "totp_secret", "recovery_codes", "code"})


@dataclass(frozen=True)
class Actor:
    """Who did it: an end user (their id), an administrator (a console user's id, or None for the
    bearer-token API), an identity source (its id: an HR system over SCIM), or the system (the consumer,
    the schedule)."""

    type: str = "system"
    id: str | None = None

    def __post_init__(self) -> None:
        if self.type not in ACTOR_TYPES:
            raise ValueError(f"unknown actor type {self.type!r}")

    def to_dict(self) -> dict[str, str]:
        return {"type": self.type, **({"id": self.id} if self.id else {})}


SYSTEM = Actor("system")
API_ADMIN = Actor("admin")


@dataclass(frozen=True)
class AuditEvent:
    """One thing that happened. ``type`` is ``login``, ``mfa``, ``sso``, ``logout``, ``lockout``,
    ``admin.<resource>.<action>``, ``provisioning`` or ``key``; ``reason`` is a code (``not_bound``,
    ``suspended``, ``acs_not_registered``, ...) on a failure."""

    type: str
    outcome: str = "success"
    actor: Actor = SYSTEM
    user_id: str | None = None
    app: str | None = None
    ip: str | None = None
    user_agent: str | None = None
    reason: str | None = None
    changes: tuple[str, ...] = ()
    detail: Mapping[str, Any] = field(default_factory=dict)  # short facts; "before"/"after": {field: value}

    def __post_init__(self) -> None:
        if self.outcome not in OUTCOMES:
            raise ValueError(f"unknown outcome {self.outcome!r}")
        leaked = SECRET_FIELDS.intersection(self.detail)
        for side in ("before", "after"):
            if isinstance(self.detail.get(side), Mapping):
                leaked |= SECRET_FIELDS.intersection(self.detail[side])
        if leaked:
            raise ValueError(f"audit detail may not carry secret fields: {sorted(leaked)}")


def changed_fields(fields: Iterable[str]) -> tuple[str, ...]:
    """The sorted field names of a change (names only: values, secret or not, are never recorded)."""
    return tuple(sorted(set(fields)))


_EMPTY: tuple[object, ...] = (None, "", [], (), {})


def _same(old: object, new: object) -> bool:
    """One value: absent, None, "" and an empty list are all "nothing"; a tuple equals the list of its items."""
    if old in _EMPTY and new in _EMPTY:
        return True
    return (list(old) if isinstance(old, tuple) else old) == (list(new) if isinstance(new, tuple) else new)


def _shown(value: object) -> object:
    return list(value) if isinstance(value, tuple) else value


def value_changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> tuple[tuple[str, ...], dict[str, dict[str, object]]]:
    """What a change of the fields in ``after`` really changed from ``before``: the sorted names of those whose
    value differs (a form that sends every field names only what was edited), and ``{"before": {...},
    "after": {...}}`` with their values for an event's detail ({} when nothing changed). A secret field
    (a password, a token) never has its value compared or carried: name it in the event's changes yourself."""
    names = changed_fields(k for k, v in after.items() if k not in SECRET_FIELDS and not _same(before.get(k), v))
    if not names:
        return (), {}
    return names, {"before": {k: _shown(before.get(k)) for k in names}, "after": {k: _shown(after[k]) for k in names}}


class AuditSink(Protocol):
    def record(self, event: AuditEvent) -> None:
        """Append ``event``; never raises (a failing write is the sink's to count and report)."""

    def batched(self) -> ContextManager[None]:
        """A block whose events may be written together when it ends (a provisioning run's): none is lost."""


class NullAudit:
    """Records nothing (a context built without an audit log)."""

    def record(self, event: AuditEvent) -> None:
        return None

    def batched(self) -> ContextManager[None]:
        return nullcontext()
