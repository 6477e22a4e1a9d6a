"""The login pages (contract sections 3 and 7): the use case behind GET /login (the form of this browser's pending
login, a new one, or nothing when already signed in), the form again after a try (its app's label, and for a login
past the password the second step: which factors the user can show), starting a login or a step-up that comes back
to what asked for it, pausing a sign-in until the user enrols a factor, the MFA gate of the IdP's own pages, and
signing out. It owns GET /login's read scope. The cookies' names and lifetimes (`CookieRules`) come with it."""
from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol

from idp.app.browser import Client
from idp.signon.mfa.policy import WEBAUTHN, MfaPolicy, Need
from idp.signon.models import LoginState, PendingSignOn, Session, SignedIn


@dataclass(frozen=True)
class CookieRules:
    """The sign-on cookies of this deployment: insecure (the local stack on a LAN address over http: unprefixed
    names, Lax) or not, and their Max-Age (the session's, the device's, and the paused sign-in's: a login state's)."""

    insecure: bool
    session_max_age: int
    device_max_age: int
    resume_max_age: int


@dataclass(frozen=True)
class LoginForm:
    """A login form to show: its state, the app it is for (`app_label`), whether it is the password again before a
    change of sign-in methods (`reauth`), whether "Sign in with a passkey" is offered; past the password (a second
    step or a step-up: `state.uid`), which factors the user can show."""

    state: LoginState
    app_label: str | None
    reauth: bool
    passkeys: bool
    has_totp: bool = False
    has_passkey: bool = False

    @property
    def second_step(self) -> bool:
        return self.state.uid is not None


@dataclass(frozen=True)
class AlreadySignedIn:
    """GET /login from a browser whose session is live: the portal."""


@dataclass(frozen=True)
class NewForm:
    """A new pending login's form (`restarted`: the one asked for is unknown, expired or another browser's)."""

    form: LoginForm
    restarted: bool


LoginPage = LoginForm | NewForm | AlreadySignedIn


class LoginSignon(Protocol):
    """The sign-on service (idp.signon.service.SignOn) as the login pages use it."""

    def signed_in(self, session_id: str | None) -> SignedIn | None: ...

    def begin_login(self, browser: str, pending: PendingSignOn | None = None) -> LoginState: ...

    def login_form(self, login_id: str | None, browser: str) -> LoginState | None: ...

    def begin_step_up(self, browser: str, session: Session, pending: PendingSignOn) -> LoginState: ...

    def pause_for_enrolment(self, browser: str, uid: str, pending: PendingSignOn) -> LoginState: ...

    def mfa_gate(self, user: dict[str, Any], session: Session, pending: PendingSignOn) -> Need: ...

    def sign_out(self, session_id: str | None, csrf: str | None, *, ip: str | None = None,
                 user_agent: str | None = None) -> bool: ...


class LoginMfa(Protocol):
    def policy(self) -> MfaPolicy: ...

    def factors(self, uid: str) -> list[dict[str, Any]]: ...


class AppLabels(Protocol):
    def app_label(self, slug: str) -> str | None: ...


PageReads = Callable[[str | None], AbstractContextManager[object]]
"""Opens GET /login's read scope for the pending login it names (idp.adapters.answer_reads.login_page_reads)."""


class LoginPages:
    def __init__(self, signon: LoginSignon, mfa: LoginMfa, apps: AppLabels, *, page_reads: PageReads):
        self.signon, self.mfa, self.apps, self.page_reads = signon, mfa, apps, page_reads

    def page(self, login_id: str | None, browser: str, *, new_browser: bool, session_id: str | None) -> LoginPage:
        """GET /login[?state=…]: the pending login's form (not for a browser that just got its binding), else the
        portal when signed in, else a new login's form."""
        with self.page_reads(login_id):
            state = self.signon.login_form(login_id, browser) if not new_browser else None
            if state is not None:
                return self.form(state)
            if self.signon.signed_in(session_id) is not None:
                return AlreadySignedIn()
            return NewForm(self.form(self.signon.begin_login(browser)), restarted=bool(login_id))

    def form(self, state: LoginState) -> LoginForm:
        """The form of `state` as it is to be shown (again, after a try: the login's ShowForm)."""
        label = self.apps.app_label(state.pending.slug) if state.pending.slug else None
        passkeys = WEBAUTHN in self.mfa.policy().methods
        reauth = state.pending.kind == "account"  # the password again before a change of sign-in methods
        if state.uid is None:  # (a passwordless passkey sign-in would not type it: the form alone)
            return LoginForm(state, label, reauth, passkeys and not reauth)
        types = {str(f["type"]) for f in self.mfa.factors(state.uid)}
        return LoginForm(state, label, reauth, passkeys, has_totp="totp" in types,
                         has_passkey=passkeys and WEBAUTHN in types)

    def begin(self, browser: str, pending: PendingSignOn | None) -> LoginState:
        """A new pending login for this browser that comes back to `pending`."""
        return self.signon.begin_login(browser, pending)

    def step_up(self, browser: str, session: Session, pending: PendingSignOn) -> LoginState:
        """The second step again for a signed-in session, coming back to `pending` once done."""
        return self.signon.begin_step_up(browser, session, pending)

    def pause_for_enrolment(self, browser: str, uid: str, pending: PendingSignOn) -> LoginState:
        """The sign-in `pending` paused until `uid` enrols a factor (the account page resumes it)."""
        return self.signon.pause_for_enrolment(browser, uid, pending)

    def mfa_need(self, current: SignedIn, pending: PendingSignOn) -> Need:
        """What this session still lacks under the MFA policy before an IdP page (the admin console)."""
        return self.signon.mfa_gate(current.user, current.session, pending)

    def sign_out(self, session_id: str | None, csrf: str | None, *, client: Client) -> bool:
        """POST /logout: the session ended (False, nothing ended, when a live session's CSRF token does not match)."""
        return self.signon.sign_out(session_id, csrf, ip=client.ip, user_agent=client.user_agent)
