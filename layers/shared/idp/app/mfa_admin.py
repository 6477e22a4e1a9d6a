"""MFA administration (contract section 7): the use case behind GET|PUT /admin/mfa (the global policy), GET
/admin/users/{id}/mfa (a user's factors, never a seed or a key) and DELETE /admin/users/{id}/mfa (every factor and
recovery code removed, every session of the user ended). An administrator looking at or setting the policy also
makes sure the authenticator apps' seed key exists: the internet-facing login function enrols factors but may not
create it."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from idp.app.acting import Acting
from idp.app.browser import Client
from idp.app.factors import Factor
from idp.kernel.audit import Actor
from idp.signon.mfa.policy import MfaPolicy


class AdminMfa(Protocol):
    """The MFA service (idp.signon.mfa.service.MfaService) as an administrator uses it."""

    def policy(self) -> MfaPolicy: ...

    def set_policy(self, new: Any, *, actor: Actor, ip: str | None = None, user_agent: str | None = None) -> MfaPolicy: ...

    def factors(self, uid: str) -> list[dict[str, Any]]: ...

    def reset(self, uid: str, actor: Actor) -> int: ...


class AdminDirectory(Protocol):
    """The directory (idp.directory.service.DirectoryService): the user, or a 404 naming them; and the hook that ends
    every session of a user whose MFA was reset."""

    def get_user(self, uid: str) -> dict[str, Any]: ...

    def reset_mfa(self, uid: str) -> None: ...

    def acting_as(self, actor: Actor, ip: str | None = None, user_agent: str | None = None) -> "AdminDirectory": ...


class MfaAdmin:
    def __init__(self, mfa: AdminMfa, directory: AdminDirectory, *, ensure_seed_key: Callable[[], None]):
        self.mfa, self.directory, self.ensure_seed_key = mfa, directory, ensure_seed_key

    def policy(self) -> MfaPolicy:
        """The global policy (the seed key created if missing: an administrator is looking at MFA)."""
        self.ensure_seed_key()
        return self.mfa.policy()

    def set_policy(self, settings: Any, *, actor: Actor, client: Client) -> MfaPolicy:
        """`settings`: a validated MfaPolicySettings (idp.signon.mfa.policy_body); recorded as `actor`'s change."""
        self.ensure_seed_key()
        return self.mfa.set_policy(settings, actor=actor, ip=client.ip, user_agent=client.user_agent)

    def factors(self, uid: str) -> tuple[Factor, ...]:
        """The user's confirmed factors, oldest first; a DomainError 404 for an unknown user."""
        self.directory.get_user(uid)
        return tuple(Factor.of(f) for f in self.mfa.factors(uid))

    def reset(self, uid: str, by: Acting) -> int:
        """DELETE /admin/users/{id}/mfa's and the console's "Reset MFA": every factor and recovery code of the user
        removed (how many items went), then every session ended, recorded as `by`'s change; a DomainError 404 for an
        unknown user."""
        self.directory.get_user(uid)
        removed = self.mfa.reset(uid, by.actor)
        self.directory.acting_as(by.actor, by.ip, by.user_agent).reset_mfa(uid)  # every session of the user ends
        return removed
