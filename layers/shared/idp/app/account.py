"""My account (contract section 7): the use case behind the signed-in user's pages, /account and its forms, and the
account half of passkeys (registration). Who is signed in; the guard rules (sign-in methods are managed only from a
session whose password was typed within IDP_REAUTH_SECONDS and, for a user holding a factor, that passed one); the
sign-in an enrolment paused and its resumption; the authenticator app's setup and confirmation (the seed is sealed
and unsealed by the MFA service, never by a route); recovery codes; renaming and removing a factor; a passkey added;
and the password change (the new password first, then the current one, counted like a login's). Every answer is a
typed value; the route checks the session form's CSRF token, makes its call and renders."""
from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TypeAlias

from idp.app.browser import Client
from idp.app.factors import Factor
from idp.kernel.audit import Actor
from idp.kernel.errors import DomainError
from idp.signon.login import Outcome, ShowForm
from idp.signon.mfa.policy import OTP, WEBAUTHN, MfaPolicy, satisfied
from idp.signon.models import LoginState, PendingSignOn, SignedIn

if TYPE_CHECKING:  # py_webauthn loads with a passkey request only (cold start of the login function), SAML with a resume
    from idp.app.sso import SsoAnswer
    from idp.signon.mfa.passkeys import RelyingParty
    from idp.signon.mfa.service import TotpSetup  # pyotp: with an enrolment or a login's second step


# ---------------------------------------------------------------- what goes out
@dataclass(frozen=True)
class AccountView:
    """What the account page shows of the user's sign-in methods, and which methods the policy counts."""

    factors: tuple[Factor, ...]
    recovery_left: int
    policy: dict[str, Any]
    totp_allowed: bool
    passkeys_allowed: bool


class Gate(enum.Enum):
    """May this session manage sign-in methods now: yes, or the password again first, or its factor first."""

    OPEN = "open"
    REAUTH = "reauth"
    STEP_UP = "step_up"


class MethodOff(enum.Enum):
    """The MFA policy does not count this method (an administrator may allow only the other one)."""

    TOTP = "totp"
    PASSKEYS = "webauthn"


@dataclass(frozen=True)
class SealKeyMissing:
    """A fresh deployment whose admin function has not created the seed key yet: no authenticator app can be set up."""


@dataclass(frozen=True)
class SetupExpired:
    """The authenticator app's setup is gone (expired, confirmed already, or not this user's)."""


@dataclass(frozen=True)
class WrongCode:
    """The first code did not confirm the app: its setup shown again."""

    setup: TotpSetup


@dataclass(frozen=True)
class FactorAdded:
    """The factor is the user's: the session renewed (it just proved the factor), and the recovery codes to show
    once (empty when the user already holds some)."""

    renewed: SignedIn
    recovery_codes: tuple[str, ...]


@dataclass(frozen=True)
class PasskeyRefused:
    message: str


@dataclass(frozen=True)
class NewPasswordRefused:
    """A rule of the password policy (`message` names the new password), with its status."""

    status: int
    message: str


@dataclass(frozen=True)
class CurrentPasswordRefused:
    """The current password was missing, wrong or throttled (`reason`: the login flow's ShowForm reason)."""

    reason: str
    retry_after: int


@dataclass(frozen=True)
class PasswordChanged:
    """Every session of the user ended; this browser's is `renewed`."""

    renewed: SignedIn


@dataclass(frozen=True)
class ToLoginForm:
    """A pending login of this browser that no enrolment paused: it goes on through its login form."""

    login_id: str


@dataclass(frozen=True)
class NothingToResume:
    pass


@dataclass(frozen=True)
class ResumeAt:
    """The paused sign-in was for an IdP page (the portal, a console page)."""

    path: str


@dataclass(frozen=True)
class ResumeSso:
    """The paused sign-in was an SSO: its answer (idp.app.sso)."""

    answer: SsoAnswer


TotpBegun: TypeAlias = "TotpSetup | MethodOff | SealKeyMissing"
TotpConfirmed: TypeAlias = "FactorAdded | WrongCode | SetupExpired | MethodOff"
PasskeyAdded = FactorAdded | PasskeyRefused | MethodOff
PasswordChange = PasswordChanged | NewPasswordRefused | CurrentPasswordRefused
Resumption = ResumeAt | ResumeSso | ToLoginForm | NothingToResume


# ---------------------------------------------------------------- what it needs
class AccountSignon(Protocol):
    """The sign-on service (idp.signon.service.SignOn) as the account pages use it."""

    def signed_in(self, session_id: str | None) -> SignedIn | None: ...

    def password_recent(self, current: SignedIn) -> bool: ...

    def resumable(self, login_id: str | None, browser: str, uid: str) -> LoginState | None: ...

    def login_form(self, login_id: str | None, browser: str) -> LoginState | None: ...

    def forget_login(self, login_id: str) -> None: ...

    def renew_session(self, current: SignedIn, amr: Sequence[str], *, password_typed: bool = False) -> SignedIn: ...

    def confirm_password(self, current: SignedIn, password: str, *, client: str, device: str | None = None,
                         user_agent: str | None = None) -> Outcome: ...


class AccountMfa(Protocol):
    """The MFA service (idp.signon.mfa.service.MfaService) as the account pages use it."""

    def policy(self) -> MfaPolicy: ...

    def factors(self, uid: str) -> list[dict[str, Any]]: ...

    def has_factor(self, uid: str) -> bool: ...

    def recovery_left(self, uid: str) -> int: ...

    def begin_totp(self, uid: str, account: str) -> TotpSetup: ...

    def confirm_totp(self, uid: str, fid: str, code: str, *, ip: str | None = None) -> list[str] | None: ...

    def pending_totp(self, uid: str, fid: str, account: str) -> TotpSetup | None: ...

    def regenerate_recovery(self, uid: str, *, audit: bool = True) -> list[str]: ...

    def rename(self, uid: str, fid: str, name: str) -> bool: ...

    def remove(self, uid: str, fid: str) -> bool: ...


class AccountPasskeys(Protocol):
    """Passkey registration (idp.signon.mfa.passkey_service.PasskeyService)."""

    def registration_options(self, rp: RelyingParty, user: dict[str, Any]) -> str: ...

    def register(self, rp: RelyingParty, uid: str, credential_json: str, name: str, *,
                 ip: str | None = None) -> dict[str, Any]: ...


class OwnChanges(Protocol):
    """The directory acting as the user (idp.directory.service.DirectoryService.acting_as)."""

    def check_new_password(self, password: str, user: dict[str, Any]) -> None: ...

    def update_user(self, uid: str, patch: dict[str, Any]) -> Any: ...


class AccountDirectory(Protocol):
    def acting_as(self, actor: Actor, ip: str | None = None, user_agent: str | None = None) -> OwnChanges: ...


class AccountSso(Protocol):
    """The SSO use case (idp.app.sso.SingleSignOn) as resuming a paused sign-in uses it."""

    def resume(self, slug: str, signed_in: SignedIn, pending: PendingSignOn, *, base_url: str,
               client: Client) -> SsoAnswer: ...


class MyAccount:
    """The passkey service, the directory and the SSO use case come through callables: the account page's GET
    builds none of them (py_webauthn, the directory's writes and SAML load when a request needs them)."""

    def __init__(self, signon: AccountSignon, mfa: AccountMfa, *, passkeys: Callable[[], AccountPasskeys],
                 directory: Callable[[], AccountDirectory], sso: Callable[[], AccountSso]):
        self.signon, self.mfa = signon, mfa
        self._passkeys, self._directory, self._sso = passkeys, directory, sso

    # ------------------------------------------------------------ who, and the guard
    def signed_in(self, session_id: str | None) -> SignedIn | None:
        return self.signon.signed_in(session_id)

    def may_manage(self, current: SignedIn) -> bool:
        """A user with a factor changes factors only from a session that passed one."""
        return satisfied(current.session.amr) or not self.mfa.has_factor(current.uid)

    def password_recent(self, current: SignedIn) -> bool:
        """The password was typed in this session within IDP_REAUTH_SECONDS (contract section 7)."""
        return self.signon.password_recent(current)

    def gate(self, current: SignedIn) -> Gate:
        if not self.password_recent(current):
            return Gate.REAUTH
        return Gate.OPEN if self.may_manage(current) else Gate.STEP_UP

    def paused_sign_in(self, current: SignedIn, named: Sequence[str | None], browser: str | None) -> str | None:
        """The sign-in an enrolment paused for this user in this browser, if any, among the login ids `named` (the
        page's ``resume``, then the browser's resume cookie)."""
        if not browser:
            return None
        for lid in dict.fromkeys(named):
            if lid and self.signon.resumable(lid, browser, current.uid) is not None:
                return lid
        return None

    def view(self, current: SignedIn) -> AccountView:
        policy = self.mfa.policy()
        return AccountView(tuple(Factor.of(f) for f in self.mfa.factors(current.uid)), self.mfa.recovery_left(current.uid),
                           policy.view(), "totp" in policy.methods, "webauthn" in policy.methods)

    def allows(self, method: MethodOff) -> bool:
        """The MFA policy counts `method` (TOTP or passkeys)."""
        return method.value in self.mfa.policy().methods

    # ------------------------------------------------------------ the authenticator app
    @staticmethod
    def _account_name(current: SignedIn) -> str:
        return str(current.user.get("email") or current.user["username"])

    def begin_totp(self, current: SignedIn) -> TotpBegun:
        """A pending authenticator app: its setup key and otpauth:// URI, shown once."""
        if not self.allows(MethodOff.TOTP):
            return MethodOff.TOTP
        from idp.signon.mfa.ports import SealKeyUnavailable

        try:
            return self.mfa.begin_totp(current.uid, self._account_name(current))
        except SealKeyUnavailable:
            return SealKeyMissing()

    def confirm_totp(self, current: SignedIn, factor_id: str, code: str, *, ip: str | None) -> TotpConfirmed:
        """The first code confirms the app (the session renewed, saying OTP); a wrong one shows the setup again."""
        if not self.allows(MethodOff.TOTP):  # the policy changed since the setup began
            return MethodOff.TOTP
        codes = self.mfa.confirm_totp(current.uid, factor_id, code, ip=ip)
        if codes is None:
            setup = self.mfa.pending_totp(current.uid, factor_id, self._account_name(current))
            return WrongCode(setup) if setup else SetupExpired()
        return FactorAdded(self.signon.renew_session(current, [OTP]), tuple(codes))

    # ------------------------------------------------------------ recovery codes, renaming, removing
    def regenerate_recovery(self, current: SignedIn) -> tuple[str, ...] | None:
        """Ten new recovery codes (the old ones stop working); None for a user without a factor."""
        if not self.mfa.has_factor(current.uid):
            return None
        return tuple(self.mfa.regenerate_recovery(current.uid))

    def rename(self, current: SignedIn, factor_id: str, name: str) -> bool:
        return self.mfa.rename(current.uid, factor_id, name)

    def remove(self, current: SignedIn, factor_id: str) -> bool:
        return self.mfa.remove(current.uid, factor_id)

    # ------------------------------------------------------------ passkeys
    @staticmethod
    def _rp(base_url: str) -> RelyingParty:
        from idp.signon.mfa.passkeys import relying_party

        return relying_party(base_url)

    def passkey_options(self, current: SignedIn, *, base_url: str) -> str | MethodOff:
        """The registration options (JSON for the browser's parseCreationOptionsFromJSON)."""
        if not self.allows(MethodOff.PASSKEYS):
            return MethodOff.PASSKEYS
        return self._passkeys().registration_options(self._rp(base_url), current.user)

    def add_passkey(self, current: SignedIn, credential: str, name: str, *, base_url: str,
                    ip: str | None) -> PasskeyAdded:
        """The browser's answer registered: the session renewed (saying WEBAUTHN), and recovery codes when the user
        held none."""
        if not self.allows(MethodOff.PASSKEYS):
            return MethodOff.PASSKEYS
        from idp.signon.mfa.passkeys import PasskeyError

        try:
            self._passkeys().register(self._rp(base_url), current.uid, credential, name, ip=ip)
        except PasskeyError as exc:
            return PasskeyRefused(str(exc))
        codes = () if self.mfa.recovery_left(current.uid) else tuple(self.mfa.regenerate_recovery(current.uid, audit=False))
        return FactorAdded(self.signon.renew_session(current, [WEBAUTHN]), codes)

    # ------------------------------------------------------------ the password
    def change_password(self, current: SignedIn, *, current_password: str, new_password: str, client: Client,
                        device: str | None) -> PasswordChange:
        """The new password first (its refusal is the same whatever the current one), then the current one, throttled
        and counted like a login's password; done, every other session of the user ends. The change is the user's own
        in the audit log (their id, address, user agent)."""
        own = self._directory().acting_as(Actor("user", current.uid), client.ip, client.user_agent)
        try:
            own.check_new_password(new_password, current.user)  # the password policy, the user's own names included
        except DomainError as exc:
            return _refused(exc)
        checked = self.signon.confirm_password(current, current_password, client=client.ip or "", device=device,
                                               user_agent=client.user_agent)
        if isinstance(checked, ShowForm):
            return CurrentPasswordRefused(checked.reason, checked.retry_after)
        try:
            own.update_user(current.uid, {"password": new_password})
        except DomainError as exc:
            return _refused(exc)
        # The change ended every session of the user (the epoch moved on); this browser gets a fresh one.
        return PasswordChanged(self.signon.renew_session(current, [], password_typed=True))

    # ------------------------------------------------------------ resuming a paused sign-in
    def resume(self, current: SignedIn, login_id: str | None, browser: str, *, base_url: str,
               client: Client) -> Resumption:
        """After enrolling, go on to what the sign-in was for. Only a sign-in an enrolment paused, for this user,
        resumes here; any other pending login of this browser (whose request may say ForceAuthn) goes on through its
        login form, password first."""
        state = self.signon.resumable(login_id, browser, current.uid)
        if state is None:
            if login_id and self.signon.login_form(login_id, browser) is not None:
                return ToLoginForm(login_id)
            return NothingToResume()
        self.signon.forget_login(state.login_id)
        slug = state.pending.slug
        if not slug:
            return ResumeAt(state.pending.resume_path or "/")
        return ResumeSso(self._sso().resume(slug, current, state.pending, base_url=base_url, client=client))


def _refused(exc: DomainError) -> NewPasswordRefused:
    return NewPasswordRefused(exc.status, exc.message.replace("field 'password'", "The new password"))
