"""Who may open a console page (contract section 6): a signed-in user with the admin role, whose session has passed
the second factor the MFA policy asks of the IdP's own pages (an administrator's first console visit enrols one,
whatever the policy). Typed answers; the console's guard renders them (the login form, a 403, the step-up or
enrolment, the page) and checks the form's CSRF token."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from idp.kernel.users import is_admin
from idp.signon.mfa.policy import Need
from idp.signon.models import PendingSignOn, SignedIn


class ConsoleSignon(Protocol):
    def signed_in(self, session_id: str | None) -> SignedIn | None: ...


class ConsoleMfa(Protocol):
    def mfa_need(self, current: SignedIn, pending: PendingSignOn) -> Need: ...


@dataclass(frozen=True)
class NotSignedIn:
    """No live session: to the login form, back to the page after."""


@dataclass(frozen=True)
class NotAnAdmin:
    current: SignedIn


@dataclass(frozen=True)
class SecondFactorFirst:
    """The session lacks the factor the policy asks for (`need`: a step-up, or enrolment first)."""

    current: SignedIn
    need: Need


@dataclass(frozen=True)
class AdminIn:
    current: SignedIn


ConsoleAnswer = NotSignedIn | NotAnAdmin | SecondFactorFirst | AdminIn


class ConsoleAccess:
    def __init__(self, signon: ConsoleSignon, mfa: ConsoleMfa):
        self.signon, self.mfa = signon, mfa

    def check(self, session_id: str | None, pending: PendingSignOn) -> ConsoleAnswer:
        """`pending`: the console page to come back to after a login, a step-up or an enrolment."""
        current = self.signon.signed_in(session_id)
        if current is None:
            return NotSignedIn()
        if not is_admin(current.user):
            return NotAnAdmin(current)
        need = self.mfa.mfa_need(current, pending)
        return AdminIn(current) if need is Need.NONE else SecondFactorFirst(current, need)
