"""The login flow, authentik-style: a login is a short sequence of stages over one pending login
state. Each stage looks at the submission and what earlier stages found, and either passes (None)
or decides: show the form again (ShowForm), refuse (Refused) or done (LoggedIn). The password
login is: the form belongs to this browser, credentials given, not locked out, password, active
user, start the session. A second factor becomes one more stage before the session starts."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

from aws_lambda_powertools import Logger

from idp.kernel.tokens import hash_token, same
from idp.signon.models import LoginState, PendingSignOn, Session, SignedIn
from idp.signon.ports import SignonDirectory, SignonStore

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


@dataclass(frozen=True)
class ShowForm:
    """Show the login form of ``state`` again; ``reason`` is ``missing_credentials`` or ``wrong_credentials``."""

    state: LoginState
    reason: str
    username: str


@dataclass(frozen=True)
class Refused:
    """The login stops: ``csrf_failed``, ``locked_out`` (``retry_after`` seconds) or ``user_suspended``."""

    code: str
    cause: str
    retry_after: int = 0
    uid: str | None = None


@dataclass(frozen=True)
class LoggedIn:
    """A new session; ``pending`` is what to resume (an SSO answer, or the portal)."""

    signed_in: SignedIn
    pending: PendingSignOn


Outcome = ShowForm | Refused | LoggedIn


@dataclass
class LoginContext:
    """One run of the flow: the submission, the ports, and what the stages found so far."""

    submission: LoginSubmission
    directory: SignonDirectory
    store: SignonStore
    state: LoginState | None = None
    username: str = ""
    user_key: str = ""  # throttle key of the login name (case-insensitive)
    client_key: str = ""
    uid: str | None = None
    user: dict | None = None


Stage = Callable[[LoginContext], "Outcome | None"]


def form_bound_to_browser(ctx: LoginContext) -> Outcome | None:
    """The login state exists, and the form carries its CSRF token from the browser it was issued to."""
    s = ctx.submission
    item = ctx.store.get_login(s.login_id) if s.login_id else None
    state = LoginState.from_item(s.login_id, item) if item else None
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
    ctx.user_key = ctx.username.lower()[:256]
    ctx.client_key = (ctx.submission.client or "unknown")[:64]
    return None


def not_locked_out(ctx: LoginContext) -> Outcome | None:
    locked = max(ctx.store.locked_for("user", ctx.user_key), ctx.store.locked_for("ip", ctx.client_key))
    if locked:
        return Refused("locked_out", f"lockout user={ctx.user_key!r} ip={ctx.client_key}", retry_after=locked)
    return None


def password(ctx: LoginContext) -> Outcome | None:
    """Identify the user by the login name (a username, else an email) and check the password; failures count."""
    account = ctx.directory.find_account("username", ctx.username) or ctx.directory.find_account("email", ctx.username)
    if not ctx.directory.verify_password(account.password_hash if account else None, ctx.submission.password):
        count = ctx.store.record_failure("user", ctx.user_key)
        ctx.store.record_failure("ip", ctx.client_key)
        log.warning("login failed user=%r ip=%s failures=%s known=%s", ctx.user_key, ctx.client_key, count, bool(account),
                    extra={"user_id": account.uid if account else None})
        return ShowForm(ctx.state, "wrong_credentials", ctx.username)
    ctx.uid = account.uid
    return None


def active_user(ctx: LoginContext) -> Outcome | None:
    ctx.user = ctx.directory.get_user(ctx.uid)
    if not ctx.user or ctx.user.get("state", "ACTIVE") != "ACTIVE":
        return Refused("user_suspended", f"suspended user {ctx.uid} tried to sign in", uid=ctx.uid)
    return None


def start_session(ctx: LoginContext) -> Outcome | None:
    """Done: failures forgotten, the login state used up, any old session ended, a fresh session id."""
    ctx.store.clear_failures("user", ctx.user_key)
    ctx.store.delete_login(ctx.state.login_id)
    if ctx.submission.old_session:
        ctx.store.delete_session(ctx.submission.old_session)
    sid, item = ctx.store.create_session(ctx.uid)
    log.info("login ok user=%s ip=%s", ctx.uid, ctx.client_key, extra={"user_id": ctx.uid, "app": ctx.state.pending.slug})
    return LoggedIn(SignedIn(sid, Session.from_item(item), ctx.user), ctx.state.pending)


PASSWORD_LOGIN: tuple[Stage, ...] = (form_bound_to_browser, credentials_given, not_locked_out, password, active_user,
                                     start_session)


def run(stages: Sequence[Stage], ctx: LoginContext) -> Outcome:
    """The first stage that decides, decides."""
    for stage in stages:
        outcome = stage(ctx)
        if outcome is not None:
            return outcome
    raise RuntimeError("the login flow ended without a decision; its last stage must start the session")
