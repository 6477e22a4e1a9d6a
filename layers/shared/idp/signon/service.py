"""The sign-on service: the IdP session of a browser (live only while its user exists and is active
and it carries the user's current session epoch), the pending login and its flow, whether a
signed-in user may be answered for an app, and signing out (the portal's button, an SP's
LogoutRequest that names the session, every session of a user at once). Behind its ports: the
directory, the store of sign-on state and the failed-login metric; the web routes hand it plain
values and render what it decides."""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Sequence

from aws_lambda_powertools import Logger

from idp.kernel.audit import AuditSink, NullAudit
from idp.kernel.tokens import hash_token, same
from idp.kernel.users import is_active
from idp.signon import login
from idp.signon.assertion import nameid_for
from idp.signon.audit_trail import login_events, logout_event
from idp.signon.login import LoginSubmission, Outcome  # the method `login` hides the module in the class's annotations
from idp.signon.mfa.policy import WEBAUTHN
from idp.signon.models import LoginState, PendingSignOn, Session, SignedIn
from idp.signon.ports import LoginMetricsSink, SignonDirectory, SignonStore
from idp.signon.sso import Denied, Grant, answer_to

log = Logger(child=True)


@dataclass(frozen=True)
class LogoutResult:
    """What an SP's LogoutRequest did: ``code`` is ``ended``, ``no_session``, ``nameid_mismatch`` or
    ``session_index_mismatch``; ``message`` says it in words (for the LogoutResponse or the page)."""

    code: str
    message: str

    @property
    def ended(self) -> bool:
        return self.code == "ended"


class SignOn:
    def __init__(self, directory: SignonDirectory, store: SignonStore, stages: Sequence[login.Stage] = login.PASSWORD_LOGIN,
                 *, device_key: Callable[[], bytes | None] = lambda: None, metrics: LoginMetricsSink | None = None,
                 audit: AuditSink | None = None, clock: Callable[[], float] = time.time, mfa=None):
        self.directory = directory
        self.store = store
        self.stages = tuple(stages)
        self.device_key = device_key
        self.metrics = metrics
        self.clock = clock
        self.audit = audit or NullAudit()  # login, lockout and logout events (idp.signon.audit_trail)
        self.mfa = mfa  # idp.signon.mfa.service.MfaService, or None: no second factors

    @property
    def session_lifetime(self) -> int:
        """Seconds a session lives at most (the session cookie's Max-Age)."""
        return self.store.policy.session_lifetime

    @property
    def device_lifetime(self) -> int:
        """Seconds a browser that signed in is remembered (the device cookie's Max-Age)."""
        return self.store.policy.device_lifetime

    def replay_check(self, slug: str, kind: str = "authn") -> Callable[[str], bool]:
        """``seen(request_id)`` for the app's inbound AuthnRequests (``authn``) or LogoutRequests (``logout``):
        True when the ID was used before (marks it)."""
        scope = slug if kind == "authn" else f"{slug}#slo"
        return lambda request_id: self.store.seen_request(scope, request_id)

    # ------------------------------------------------------------------ the session

    def signed_in(self, session_id: str | None) -> SignedIn | None:
        """The live session behind a cookie, of an existing, active user, carrying the user's current session
        epoch; a session that fails any of these is ended here."""
        if not session_id:
            return None
        item = self.store.get_session(session_id)
        if not item:
            return None
        uid = item["uid"]
        if int(item.get("epoch", 0)) != self.store.session_epoch(uid):
            log.info("session ended: the user's sessions were revoked", extra={"user_id": uid})
            self.store.delete_session(session_id)
            return None
        user = self.directory.get_user(uid)
        if not user or not is_active(user):
            log.info("session ended: user %s is %s", uid, "gone" if not user else user.get("state"), extra={"user_id": uid})
            self.store.delete_session(session_id)
            return None
        return SignedIn(session_id, Session.from_item(item), user)

    def sign_out(self, session_id: str | None, csrf: str | None, *, ip: str | None = None,
                 user_agent: str | None = None) -> bool:
        """End the browser's session; False (nothing ended) when a live session's CSRF token does not match."""
        current = self.signed_in(session_id)
        if current is not None and not same(csrf, current.session.csrf):
            return False
        if session_id:
            self.store.delete_session(session_id)
        if current is not None:
            self.audit.record(logout_event(current.session.uid, ip=ip, user_agent=user_agent))
        return True

    def end_sessions(self, uid: str, reason: str) -> None:
        """Every IdP session of the user ends at once (password change, suspension, MFA reset, an admin's revoke)."""
        epoch = self.store.end_sessions(uid)
        log.info("every session of user %s ended reason=%s epoch=%s", uid, reason, epoch, extra={"user_id": uid})

    def single_logout(self, current: SignedIn | None, app: dict, nameid: str | None,
                      session_indexes: Sequence[str], *, ip: str | None = None, user_agent: str | None = None) -> LogoutResult:
        """An SP's LogoutRequest ends the browser's session only when it names it: the NameID this app knows
        the user by, and the session's SessionIndex (which only SPs that got an assertion know)."""
        result = self._single_logout(current, app, nameid, session_indexes)
        self.audit.record(logout_event(current.session.uid if current else None, app=app["slug"], slo=True, ip=ip,
                                       user_agent=user_agent, reason=None if result.ended else result.code))
        return result

    def _single_logout(self, current: SignedIn | None, app: dict, nameid: str | None,
                       session_indexes: Sequence[str]) -> LogoutResult:
        if current is None:
            return LogoutResult("no_session", "this browser has no session at the identity provider")
        if not nameid or nameid != nameid_for(app, current.user):
            return LogoutResult("nameid_mismatch", "the LogoutRequest's NameID is not the signed-in user's")
        if current.session.session_index not in session_indexes:
            return LogoutResult("session_index_mismatch",
                                "the LogoutRequest names no SessionIndex of this browser's session" if session_indexes
                                else "the LogoutRequest has no SessionIndex; it must name the session to end")
        self.store.delete_session(current.session_id)
        return LogoutResult("ended", "the identity provider session was ended")

    # ------------------------------------------------------------------ the login

    def begin_login(self, browser: str, pending: PendingSignOn | None = None) -> LoginState:
        """A new pending login bound to this browser (its binding cookie), resuming ``pending``."""
        lid, item = self.store.new_login({**(pending.to_item() if pending else {}), "browser": hash_token(browser)})
        return LoginState.from_item(lid, item)

    def login_form(self, login_id: str | None, browser: str) -> LoginState | None:
        """The pending login ``login_id`` when it exists and belongs to this browser."""
        item = self.store.get_login(login_id) if login_id else None
        if not item or not login_id:
            return None
        state = LoginState.from_item(login_id, item)
        return state if same(state.browser, hash_token(browser)) else None

    def login(self, submission: LoginSubmission, *, user_agent: str | None = None) -> Outcome:
        """Run the login flow's stages over the submission (and record its login / lockout events)."""
        ctx = login.LoginContext(submission, self.directory, self.store, device_key=self.device_key(),
                                 now=int(self.clock()), metrics=self.metrics, mfa=self.mfa)
        outcome = login.run(self.stages, ctx)
        uid = ctx.uid or (ctx.account.uid if ctx.account else None) or getattr(outcome, "uid", None)
        for event in login_events(outcome, account_uid=uid, password_checked=bool(submission.password) and ctx.uid is not None,
                                  app=ctx.state.pending.slug if ctx.state else None, ip=submission.client, user_agent=user_agent):
            self.audit.record(event)
        return outcome

    def passkey_login(self, submission: LoginSubmission, uid: str, amr: Sequence[str], *,
                      user_agent: str | None = None) -> Outcome:
        """Finish a login with a verified passkey (``uid`` is the user it proved): the form's CSRF token and browser,
        an active user, then the session, saying ``amr``."""
        ctx = login.LoginContext(submission, self.directory, self.store, device_key=self.device_key(),
                                 now=int(self.clock()), metrics=self.metrics, mfa=self.mfa, uid=uid, amr=tuple(amr))
        outcome = login.run(login.PASSKEY_LOGIN, ctx)
        if tuple(amr) == (WEBAUTHN,):  # passwordless: the passkey was the whole sign-in, so it is the login's event
            for event in login_events(outcome, account_uid=uid, password_checked=True, method=WEBAUTHN, ip=submission.client,
                                      app=ctx.state.pending.slug if ctx.state else None, user_agent=user_agent):
                self.audit.record(event)
        return outcome

    def confirm_password(self, current: SignedIn, password: str, *, client: str, device: str | None = None,
                         user_agent: str | None = None) -> Outcome:
        """The signed-in user's password typed again (to change it): PasswordConfirmed, or the login's answer to a
        failed try (ShowForm ``missing_credentials``, ``wrong_credentials`` or ``throttled``). A wrong one is a
        failed sign-in: the login's throttle counters, its ``login`` failure event and its metric."""
        submission = login.LoginSubmission(None, None, None, current.user["username"], password, client, device=device)
        ctx = login.LoginContext(submission, self.directory, self.store, device_key=self.device_key(),
                                 now=int(self.clock()), metrics=self.metrics)
        outcome = login.run(login.PASSWORD_CHECK, ctx)
        for event in login_events(outcome, account_uid=current.uid, password_checked=False, app=None, ip=client,
                                  user_agent=user_agent):
            self.audit.record(event)
        return outcome

    def pause_for_enrolment(self, browser: str, uid: str, pending: PendingSignOn) -> LoginState:
        """A sign-in paused until ``uid`` enrols a second factor: bound to this browser and that user, it is the
        one kind of pending login the account page may resume (``resumable``)."""
        lid, item = self.store.new_login({**pending.to_item(), "browser": hash_token(browser), "paused_for": uid})
        return LoginState.from_item(lid, item)

    def resumable(self, login_id: str | None, browser: str, uid: str) -> LoginState | None:
        """The sign-in ``login_id`` when an enrolment paused it, for this user, in this browser; else None (a login
        form's state, a step-up, another user's or another browser's: those go on through the login form only)."""
        state = self.login_form(login_id, browser)
        if state is None or not state.paused_for or not same(state.paused_for, uid):
            return None
        return state

    def forget_login(self, login_id: str) -> None:
        """The pending login `login_id` is done with (a paused sign-in the account page resumed)."""
        self.store.delete_login(login_id)

    def begin_step_up(self, browser: str, session: Session, pending: PendingSignOn) -> LoginState:
        """A pending login for a live session that must pass a second factor first: past the password already,
        it asks for the factor only (and replaces the session when it is passed, keeping when the password was typed)."""
        state = self.begin_login(browser, pending)
        self.store.advance_login(state.login_id, session.uid, list(session.amr), session.password_at)
        return LoginState(state.login_id, state.csrf, state.browser, state.pending, session.uid, session.amr,
                          password_at=session.password_at)

    def password_recent(self, current: SignedIn) -> bool:
        """This session's user typed the password within the re-authentication window (IDP_REAUTH_SECONDS)."""
        return self.store.policy.password_recent(current.session.password_at, int(self.clock()))

    def renew_session(self, current: SignedIn, amr: Sequence[str], *, password_typed: bool = False) -> SignedIn:
        """This browser's session replaced by a fresh one that also says ``amr`` (a factor just proved on the
        account page, or a password change that ended every other session: ``password_typed``, it was typed now)."""
        merged = list(dict.fromkeys((*current.session.amr, *amr)))
        password_at = int(self.clock()) if password_typed else current.session.password_at
        sid, item = self.store.create_session(current.uid, amr=merged, ending=(None, current.session_id), password_at=password_at)
        return SignedIn(sid, Session.from_item(item), current.user)

    def mfa_gate(self, user: dict, session: Session, pending: PendingSignOn):
        """What this session still lacks before a Response for ``pending`` (idp.signon.mfa.policy.Need)."""
        from idp.signon.mfa.policy import Need

        if self.mfa is None:
            return Need.NONE
        return self.mfa.missing(user, pending, session.amr)

    # ------------------------------------------------------------------ answering an app

    def authorize(self, app: dict, user: dict, pending: PendingSignOn) -> Grant | Denied:
        """Whether (and where) a signed-in user is answered for ``app``: active, allowed, ACS still registered."""
        if not is_active(user):
            return Denied("user_suspended", f"user {user['id']} suspended")
        if not self.directory.may_use(app["slug"], user["id"]):
            return Denied("access_denied", f"user {user['id']} not bound to app {app['slug']}")
        return answer_to(app, pending)
