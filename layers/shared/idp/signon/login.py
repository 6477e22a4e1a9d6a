"""The login flow, authentik-style: a login is a short sequence of stages over one pending login
state. Each stage looks at the submission and what earlier stages found, and either passes (None)
or decides: show the form again (ShowForm), refuse (Refused) or done (LoggedIn). The password
login is: the form belongs to this browser, credentials given, the account resolved (and whether
this browser signed in to it before), not throttled, password, active user, second factor (when
this sign-in needs one the user has, the form asks for it and the login state remembers the user),
start the session. The second step (a login past its password, or a live session's step-up) is a
shorter sequence: the code, active user, start the session. A signed-in user's password typed again (to
change it) runs the password's stages alone, so a wrong one is a failed sign-in on the same counters."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Callable, Sequence

from aws_lambda_powertools import Logger

from idp.kernel.tokens import hash_token, same
from idp.kernel.users import is_active
from idp.signon import devices
from idp.signon.mfa.policy import OTP, PWD, Need
from idp.signon.models import LoginState, PendingSignOn, Session, SignedIn
from idp.signon.policy import ACCOUNT, ADDRESS, SOURCE, Throttle
from idp.signon.ports import Account, LoginMetricsSink, SignonDirectory, SignonStore

if TYPE_CHECKING:
    from idp.signon.mfa.service import MfaService

log = Logger(child=True)


@dataclass(frozen=True)
class LoginSubmission:
    """What the login form posted, and who posted it, as plain values."""

    login_id: str | None
    csrf: str | None
    browser: str | None  # the browser-binding cookie
    username: str
    password: str
    client: str  # the client address (a throttle key)
    old_session: str | None = None  # the session cookie it replaces
    device: str | None = None  # the device cookie: this browser signed in before
    code: str = ""  # the second step's TOTP or recovery code


@dataclass(frozen=True)
class ShowForm:
    """Show the login form of ``state`` again; ``reason`` is ``missing_credentials``, ``wrong_credentials``
    or ``throttled``; or the second step's form: ``second_factor`` (asked for the first time),
    ``missing_code``, ``wrong_code``; ``retry_after`` is how many seconds the next try must wait (0: none)."""

    state: LoginState | None  # None: a password typed again (PASSWORD_CHECK has no login state)
    reason: str
    username: str
    retry_after: int = 0


@dataclass(frozen=True)
class Refused:
    """The login stops: ``csrf_failed`` or ``user_suspended``."""

    code: str
    cause: str
    uid: str | None = None


@dataclass(frozen=True)
class LoggedIn:
    """A new session; ``pending`` is what to resume (an SSO answer, or the portal); ``device_cookie`` is
    the browser's new device cookie value (None without a device key)."""

    signed_in: SignedIn
    pending: PendingSignOn
    device_cookie: str | None = None


@dataclass(frozen=True)
class PasswordConfirmed:
    """The signed-in user typed their password again, and it is right (the account page's password change)."""

    uid: str


Outcome = ShowForm | Refused | LoggedIn | PasswordConfirmed


@dataclass
class LoginContext:
    """One run of the flow: the submission, the ports, and what the stages found so far."""

    submission: LoginSubmission
    directory: SignonDirectory
    store: SignonStore
    device_key: bytes | None = None
    now: int = 0
    metrics: LoginMetricsSink | None = None
    state: LoginState | None = None
    username: str = ""
    client_key: str = ""
    account: Account | None = None
    account_key: str = ""  # the resolved account's id, or a hash of an unknown login name
    device: devices.KnownDevice | None = None  # a device cookie that verified (any account)
    known_device: bool = False  # ... and it is this account's: failures from elsewhere do not hold it back
    source_key: str = ""  # the account from this address, or from this known browser
    counters: dict[str, tuple[str, Throttle]] = field(default_factory=dict)  # kind -> (key, as read)
    uid: str | None = None
    user: dict | None = None
    mfa: MfaService | None = None  # None: no second factors
    amr: tuple[str, ...] = (PWD,)  # how the user signed in, for the session
    password_at: int | None = None  # when the password was typed (this run, or the login's first step)

    @property
    def login(self) -> LoginState:
        """The login state, which form_bound_to_browser (the first stage of a flow that has one) set."""
        if self.state is None:
            raise RuntimeError("a login stage read the login state before form_bound_to_browser set it")
        return self.state

    @property
    def found_uid(self) -> str:
        """The user this sign-in is for, which an earlier stage (the password, the second step, the caller) set."""
        if self.uid is None:
            raise RuntimeError("a login stage read the user before an earlier stage found them")
        return self.uid

    @property
    def found_user(self) -> dict:
        """The user's record, which active_user set."""
        if self.user is None:
            raise RuntimeError("a login stage read the user's record before active_user read it")
        return self.user


Stage = Callable[[LoginContext], "Outcome | None"]


def form_bound_to_browser(ctx: LoginContext) -> Outcome | None:
    """The login state exists, and the form carries its CSRF token from the browser it was issued to."""
    s = ctx.submission
    item = ctx.store.get_login(s.login_id) if s.login_id else None
    state = LoginState.from_item(s.login_id, item) if s.login_id and item else None
    if not state or not s.csrf or not s.browser or not same(state.browser, hash_token(s.browser)) or not same(s.csrf, state.csrf):
        reason = ("no csrf token" if not s.csrf else "no login state" if not state else
                  "no browser cookie" if not s.browser else "csrf token or browser mismatch")
        return Refused("csrf_failed", f"login csrf check failed: {reason}")
    ctx.state = state
    return None


def credentials_given(ctx: LoginContext) -> Outcome | None:
    ctx.username = (ctx.submission.username or "").strip()
    if not ctx.username or not ctx.submission.password:
        return ShowForm(ctx.state, "missing_credentials", ctx.username)
    ctx.client_key = client_key(ctx.submission.client)
    return None


def client_key(client: str | None) -> str:
    """The address a try came from, as its throttle counters key it."""
    return (client or "unknown")[:64]


def source_key(account_key: str, client: str, device_id: str | None = None) -> str:
    """The throttle key of an account tried from one source: a browser that signed in to it before, else the address."""
    return f"{account_key}#" + (f"dev:{device_id}" if device_id else f"ip:{client}")


def identify(ctx: LoginContext) -> Outcome | None:
    """Resolve the login name to its account (username and email are one namespace), and tell whether
    this browser signed in to that account before (a device cookie that verifies, for this account)."""
    ctx.account = ctx.directory.find_account(ctx.username[:256])
    # An unknown name is throttled like an account (by a hash, never the typed text): nothing tells them apart.
    ctx.account_key = ctx.account.uid if ctx.account else "?" + hash_token(ctx.username.lower())[:32]
    ctx.device = devices.verify(ctx.device_key, ctx.submission.device, now=ctx.now, max_age=ctx.store.policy.device_lifetime)
    ctx.known_device = bool(ctx.account and ctx.device and ctx.device.uid == ctx.account.uid)
    ctx.source_key = source_key(ctx.account_key, ctx.client_key, ctx.device.device_id if ctx.known_device and ctx.device else None)
    return None


def _failed(ctx: LoginContext, reason: str) -> None:
    if ctx.metrics is not None:
        ctx.metrics.login_failure(reason)


def not_throttled(ctx: LoginContext) -> Outcome | None:
    """Refuse without checking the password while a counter of this try delays it: the account from this
    source; and, unless this browser signed in to the account before, the account and the address."""
    keys = {SOURCE: ctx.source_key}
    if not ctx.known_device:
        keys.update({ACCOUNT: ctx.account_key, ADDRESS: ctx.client_key})
    ctx.counters = {kind: (key, ctx.store.throttle(kind, key)) for kind, key in keys.items()}
    wait = max(t.wait for _key, t in ctx.counters.values())
    if wait:
        _failed(ctx, "throttled")
        log.warning("login throttled account=%s ip=%s known_browser=%s wait=%s", ctx.account_key, ctx.client_key,
                    ctx.known_device, wait, extra={"user_id": ctx.account.uid if ctx.account else None})
        return ShowForm(ctx.state, "throttled", ctx.username, retry_after=wait)
    return None


def password(ctx: LoginContext) -> Outcome | None:
    """Check the password of the resolved account; a failure counts on this try's counters."""
    account = ctx.account
    # verify_password runs first whether or not the name resolved (an unknown name costs the same time).
    if not ctx.directory.verify_password(account.password_hash if account else None, ctx.submission.password) or account is None:
        after = {kind: ctx.store.record_failure(kind, key) for kind, (key, _t) in ctx.counters.items()}
        wait = max(t.wait for t in after.values())
        _failed(ctx, "wrong_credentials")
        log.warning("login failed account=%s ip=%s known_browser=%s failures=%s wait=%s", ctx.account_key, ctx.client_key,
                    ctx.known_device, {k: t.failures for k, t in after.items()}, wait,
                    extra={"user_id": account.uid if account else None})
        return ShowForm(ctx.state, "wrong_credentials", ctx.username, retry_after=wait)
    ctx.uid, ctx.password_at = account.uid, ctx.now
    return None


def active_user(ctx: LoginContext) -> Outcome | None:
    ctx.user = ctx.directory.get_user(ctx.found_uid)
    if not ctx.user or not is_active(ctx.user):
        return Refused("user_suspended", f"suspended user {ctx.uid} tried to sign in", uid=ctx.uid)
    return None


def _forget_failures(ctx: LoginContext) -> None:
    """The password was right: this source's failures are forgotten (and the account's, when they were all this source's)."""
    _key, source = ctx.counters.get(SOURCE, ("", Throttle(0, 0)))
    if source.failures:
        ctx.store.clear_failures(SOURCE, ctx.source_key)
    if ACCOUNT in ctx.counters and 0 < ctx.counters[ACCOUNT][1].failures <= source.failures:
        ctx.store.clear_failures(ACCOUNT, ctx.account_key)
    ctx.counters = {}


def second_factor(ctx: LoginContext) -> Outcome | None:
    """When this sign-in needs a factor the user has (policy, the app, the SP's RequestedAuthnContext), the
    login state remembers the user past the password and the form asks for the factor; the session starts
    only after it. A factor the user still has to enrol is asked for before any Response (idp.web.mfa_gate)."""
    if ctx.mfa is None or ctx.mfa.need(ctx.found_user, ctx.login.pending) is not Need.VERIFY:
        return None
    _forget_failures(ctx)
    ctx.store.advance_login(ctx.login.login_id, ctx.found_uid, [PWD], ctx.password_at)
    log.info("login password ok, second factor asked user=%s", ctx.uid, extra={"user_id": ctx.uid, "app": ctx.login.pending.slug})
    return ShowForm(replace(ctx.login, uid=ctx.uid, amr=(PWD,)), "second_factor", ctx.username)


def second_step(ctx: LoginContext) -> Outcome | None:
    """A login past its password (or a live session's step-up): only the second factor is left."""
    if not ctx.login.uid:
        return None
    return run(SECOND_STEP, ctx)


def code_checked(ctx: LoginContext) -> Outcome | None:
    """The second step's code (TOTP or recovery code), throttled per user like passwords."""
    ctx.uid, ctx.client_key, ctx.password_at = ctx.login.uid, (ctx.submission.client or "unknown")[:64], ctx.login.password_at
    if ctx.mfa is None:
        return Refused("csrf_failed", "a second step without the MFA service")
    if ctx.login.epoch is not None and ctx.login.epoch != ctx.store.session_epoch(ctx.found_uid):
        return Refused("csrf_failed", "the user's sessions were revoked during this sign-in", uid=ctx.uid)
    check = ctx.mfa.verify_code(ctx.found_uid, ctx.submission.code, ip=ctx.client_key, app=ctx.login.pending.slug)
    if not check.ok:
        _failed(ctx, "wrong_code" if check.reason != "throttled" else "throttled")
        return ShowForm(ctx.login, check.reason or "wrong_code", "", retry_after=check.retry_after)
    ctx.amr = tuple(dict.fromkeys((*(ctx.login.amr or (PWD,)), OTP)))
    return None


def start_session(ctx: LoginContext) -> Outcome | None:
    """Done: this source's failures forgotten (and the account's, when they were all this source's), the
    login state used up, any old session ended, a fresh session id (saying how the user signed in), and the
    browser's device cookie."""
    _forget_failures(ctx)
    sid, item = ctx.store.create_session(ctx.found_uid, amr=list(ctx.amr), ending=(ctx.login.login_id, ctx.submission.old_session),
                                         password_at=ctx.password_at)
    cookie = None
    if ctx.device_key:
        cookie = devices.issue(ctx.device_key, ctx.found_uid, ctx.now, ctx.device.device_id if ctx.device else None)
    log.info("login ok user=%s ip=%s known_browser=%s amr=%s", ctx.uid, ctx.client_key, ctx.known_device, ",".join(ctx.amr),
             extra={"user_id": ctx.uid, "app": ctx.login.pending.slug})
    return LoggedIn(SignedIn(sid, Session.from_item(item), ctx.found_user), ctx.login.pending, cookie)


def confirmed(ctx: LoginContext) -> Outcome | None:
    """The password typed again is right: its source's failures are forgotten, as after a login."""
    _forget_failures(ctx)
    return PasswordConfirmed(ctx.found_uid)


PASSWORD_LOGIN: tuple[Stage, ...] = (form_bound_to_browser, second_step, credentials_given, identify, not_throttled, password,
                                     active_user, second_factor, start_session)
SECOND_STEP: tuple[Stage, ...] = (code_checked, active_user, start_session)
#: A signed-in user's password typed again (the account page's password change): throttled and counted as a login's.
PASSWORD_CHECK: tuple[Stage, ...] = (credentials_given, identify, not_throttled, password, confirmed)


def passkey_matches_login(ctx: LoginContext) -> Outcome | None:
    """A passkey as the second step must be the user the login is past the password for."""
    if ctx.login.uid and ctx.login.uid != ctx.uid:
        return Refused("csrf_failed", "a passkey of another user answered this login's second step", uid=ctx.uid)
    if ctx.login.epoch is not None and ctx.login.epoch != ctx.store.session_epoch(ctx.found_uid):
        return Refused("csrf_failed", "the user's sessions were revoked during this sign-in", uid=ctx.uid)
    ctx.password_at = ctx.login.password_at if ctx.login.uid else None  # passwordless: no password typed
    return None


#: A login finished by a verified passkey (idp.signon.mfa.passkey_service): the caller sets ``uid`` and ``amr``.
PASSKEY_LOGIN: tuple[Stage, ...] = (form_bound_to_browser, passkey_matches_login, active_user, start_session)


def run(stages: Sequence[Stage], ctx: LoginContext) -> Outcome:
    """The first stage that decides, decides."""
    for stage in stages:
        outcome = stage(ctx)
        if outcome is not None:
            return outcome
    raise RuntimeError("the login flow ended without a decision; its last stage must start the session")
