"""The sign-on service: the IdP session of a browser (live only while its user exists and is
active), the pending login and its flow, whether a signed-in user may be answered for an app,
and signing out (the portal's button, an SP's LogoutRequest). Behind two ports: the directory and
the store of sign-on state; the web routes hand it plain values and render what it decides."""
from __future__ import annotations

from typing import Callable, Sequence

from aws_lambda_powertools import Logger

from idp.kernel.tokens import hash_token, same
from idp.signon import assertion, login
from idp.signon.models import LoginState, PendingSignOn, Session, SignedIn
from idp.signon.ports import SignonDirectory, SignonStore
from idp.signon.sso import Denied, Grant, answer_to

log = Logger(child=True)


class SignOn:
    def __init__(self, directory: SignonDirectory, store: SignonStore, stages: Sequence[login.Stage] = login.PASSWORD_LOGIN):
        self.directory = directory
        self.store = store
        self.stages = tuple(stages)

    @property
    def session_lifetime(self) -> int:
        """Seconds a session lives at most (the session cookie's Max-Age)."""
        return self.store.policy.session_lifetime

    def replay_check(self, slug: str) -> Callable[[str], bool]:
        """``seen(request_id)`` for the app's inbound requests: True when the ID was used before (marks it)."""
        return lambda request_id: self.store.seen_request(slug, request_id)

    # ------------------------------------------------------------------ the session

    def signed_in(self, session_id: str | None) -> SignedIn | None:
        """The live session behind a cookie, of an existing, active user; a session whose user is gone
        or no longer active is ended here."""
        if not session_id:
            return None
        item = self.store.get_session(session_id)
        if not item:
            return None
        user = self.directory.get_user(item["uid"])
        if not user or user.get("state", "ACTIVE") != "ACTIVE":
            log.info("session ended: user %s is %s", item["uid"], "gone" if not user else user.get("state"),
                     extra={"user_id": item["uid"]})
            self.store.delete_session(session_id)
            return None
        return SignedIn(session_id, Session.from_item(item), user)

    def sign_out(self, session_id: str | None, csrf: str | None) -> bool:
        """End the browser's session; False (nothing ended) when a live session's CSRF token does not match."""
        current = self.signed_in(session_id)
        if current is not None and not same(csrf, current.session.csrf):
            return False
        if session_id:
            self.store.delete_session(session_id)
        return True

    def single_logout(self, current: SignedIn | None, app: dict, nameid: str | None) -> bool:
        """An SP's LogoutRequest: end the session when its NameID (if any) is the one this app knows the user by."""
        if current is None:
            return False
        ours, _fmt = assertion.nameid(app, current.user)
        if nameid is None or nameid == ours:
            self.store.delete_session(current.session_id)
            return True
        return False

    # ------------------------------------------------------------------ the login

    def begin_login(self, browser: str, pending: PendingSignOn | None = None) -> LoginState:
        """A new pending login bound to this browser (its binding cookie), resuming ``pending``."""
        lid, item = self.store.new_login({**(pending.to_item() if pending else {}), "browser": hash_token(browser)})
        return LoginState.from_item(lid, item)

    def login_form(self, login_id: str | None, browser: str) -> LoginState | None:
        """The pending login ``login_id`` when it exists and belongs to this browser."""
        item = self.store.get_login(login_id) if login_id else None
        if not item:
            return None
        state = LoginState.from_item(login_id, item)
        return state if same(state.browser, hash_token(browser)) else None

    def login(self, submission: login.LoginSubmission) -> login.Outcome:
        """Run the login flow's stages over the submission."""
        return login.run(self.stages, login.LoginContext(submission, self.directory, self.store))

    # ------------------------------------------------------------------ answering an app

    def authorize(self, app: dict, user: dict, pending: PendingSignOn) -> Grant | Denied:
        """Whether (and where) a signed-in user is answered for ``app``: active, allowed, ACS still registered."""
        if user.get("state", "ACTIVE") != "ACTIVE":
            return Denied("user_suspended", f"user {user['id']} suspended")
        if not self.directory.may_use(app["slug"], user["id"]):
            return Denied("access_denied", f"user {user['id']} not bound to app {app['slug']}")
        return answer_to(app, pending)
