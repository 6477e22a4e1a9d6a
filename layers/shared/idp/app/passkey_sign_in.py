"""Sign in with a passkey (contract section 7): the use case behind POST /login/passkey/options and POST /login/passkey,
as the second step of a login or passwordless ("Sign in with a passkey": the discoverable credential names the
user). It checks the pending login (this browser's, with its form's CSRF token) and the MFA policy, holds the second
step back while the user's MFA throttle says so, counts a refused passkey on it like a wrong code, and hands a
verified passkey to the login (`idp.app.sign_in.SignIn.with_passkey`), which resumes what the login was for."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from idp.app.account import MethodOff
from idp.app.browser import Client
from idp.app.sign_in import SignInAnswer
from idp.kernel.tokens import hash_token, same
from idp.signon.login import LoginSubmission
from idp.signon.mfa.policy import WEBAUTHN, MfaPolicy
from idp.signon.models import LoginState
from idp.signon.policy import MFA, Throttle

if TYPE_CHECKING:  # py_webauthn loads with a passkey request only (cold start of the login function)
    from idp.signon.mfa.passkey_service import PasskeyUse
    from idp.signon.mfa.passkeys import RelyingParty


@dataclass(frozen=True)
class FormExpired:
    """No pending login of this browser with that form's CSRF token."""


@dataclass(frozen=True)
class Throttled:
    """The user's second-step failures (codes or passkeys) hold it back for `wait` seconds."""

    uid: str
    wait: int


@dataclass(frozen=True)
class PasskeyFailed:
    """The passkey did not prove the user (`code`: the PasskeyError's)."""

    code: str
    message: str


PasskeyOptions = str | FormExpired | MethodOff
PasskeyAnswer = SignInAnswer | FormExpired | MethodOff | Throttled | PasskeyFailed


class LoginForms(Protocol):
    def login_form(self, login_id: str | None, browser: str) -> LoginState | None: ...


class MfaPolicyReader(Protocol):
    def policy(self) -> MfaPolicy: ...


class SecondStepThrottle(Protocol):
    """The per-user throttle counters of the second step (idp.signon.mfa.ports.ThrottleCounters)."""

    def throttle(self, kind: str, key: str) -> Throttle: ...

    def record_failure(self, kind: str, key: str) -> Throttle: ...


class PasskeyAuthenticator(Protocol):
    """Passkey sign-in (idp.signon.mfa.passkey_service.PasskeyService)."""

    def authentication_options(self, rp: RelyingParty, login_binding: str, uid: str | None = None) -> str: ...

    def authenticate(self, rp: RelyingParty, credential_json: str, login_binding: str, *, expected_uid: str | None = None,
                     ip: str | None = None) -> PasskeyUse: ...


class PasskeyLogin(Protocol):
    """The login use case (idp.app.sign_in.SignIn) a verified passkey finishes."""

    def with_passkey(self, submission: LoginSubmission, uid: str, amr: tuple[str, ...], *, client: Client,
                     base_url: str) -> SignInAnswer: ...


class PasskeySignIn:
    """The passkey service comes through a callable: py_webauthn loads with the first passkey request."""

    def __init__(self, forms: LoginForms, mfa: MfaPolicyReader, throttle: SecondStepThrottle, *,
                 passkeys: Callable[[], PasskeyAuthenticator], sign_in: PasskeyLogin):
        self.forms, self.mfa, self.throttle, self.sign_in = forms, mfa, throttle, sign_in
        self._passkeys = passkeys

    def _state(self, login_id: str | None, csrf: str | None, browser: str | None) -> LoginState | None:
        state = self.forms.login_form(login_id, browser) if browser else None
        return state if state is not None and same(csrf, state.csrf) else None

    def _allowed(self) -> bool:
        return WEBAUTHN in self.mfa.policy().methods

    @staticmethod
    def _rp(base_url: str) -> RelyingParty:
        from idp.signon.mfa.passkeys import relying_party

        return relying_party(base_url)

    def options(self, login_id: str | None, csrf: str | None, browser: str | None, *, base_url: str) -> PasskeyOptions:
        """POST /login/passkey/options: the request options (JSON for parseRequestOptionsFromJSON), the challenge bound
        to the pending login; for the user past the password, their passkeys only."""
        state = self._state(login_id, csrf, browser)
        if state is None:
            return FormExpired()
        if not self._allowed():
            return MethodOff.PASSKEYS
        return self._passkeys().authentication_options(self._rp(base_url), hash_token(state.login_id), uid=state.uid)

    def verify(self, submission: LoginSubmission, credential: str, *, base_url: str, client: Client) -> PasskeyAnswer:
        """POST /login/passkey: the passkey answer; verified, the login resumes like a password login (a passkey after
        the password adds WEBAUTHN to the login's amr; alone, it is the whole sign-in)."""
        state = self._state(submission.login_id, submission.csrf, submission.browser)
        if state is None:
            return FormExpired()
        if not self._allowed():
            return MethodOff.PASSKEYS
        wait = self.throttle.throttle(MFA, state.uid).wait if state.uid else 0
        if wait and state.uid:  # the second step's failures (codes or passkeys) hold it back, like wrong codes
            return Throttled(state.uid, wait)
        from idp.signon.mfa.passkeys import PasskeyError

        try:
            use = self._passkeys().authenticate(self._rp(base_url), credential, hash_token(state.login_id),
                                                expected_uid=state.uid, ip=submission.client)
        except PasskeyError as exc:
            if state.uid:  # a second step's failures count on the user's MFA throttle, like wrong codes
                self.throttle.record_failure(MFA, state.uid)
            return PasskeyFailed(exc.code, str(exc))
        amr = (*state.amr, WEBAUTHN) if state.uid else (WEBAUTHN,)
        return self.sign_in.with_passkey(submission, use.uid, amr, client=client, base_url=base_url)
