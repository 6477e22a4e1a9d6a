"""A user's password lifecycle by email (contract section 9): activation links (an administrator's, valid 7
days) and password resets ("Forgot password?", valid 30 minutes), both opening the same "New password" form.

A link is `<purpose>.<user id>.<256-bit random>`; only its SHA-256 is stored, in one item per user and purpose
(`PasswordLinkStore`), so a newer link voids the older. A link works only while it is that newest one, unexpired,
issued after the user's password was last set (an administrator's, a reset's or the account page's change voids
it), and while the user is active; it is used once (a conditional delete of exactly its hash: of two concurrent
submissions one wins). The public reset request answers the same whatever happens: an unknown or suspended
account gets no email, and at most `RESET_EMAILS_PER_HOUR` go out per account and per login name typed.
Setting the password goes through `DirectoryService.set_password` (the checks of a new password, sessions
ended, the `password` audit event, the "password changed" notice)."""
from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Callable, Protocol

from aws_lambda_powertools import Logger

from idp.kernel.audit import Actor
from idp.kernel.errors import DomainError, not_found
from idp.kernel.tokens import hash_token, new_token, same
from idp.kernel.users import is_active

if TYPE_CHECKING:  # the login function's forms import this module without the directory's models
    from idp.directory.service import DirectoryService

log = Logger(child=True)

ACTIVATION, RESET = "activation", "reset"
LIFETIME = {ACTIVATION: 7 * 86400, RESET: 30 * 60}
TEMPLATE = {ACTIVATION: "activation", RESET: "password_reset"}
VALID_FOR = {ACTIVATION: "7 days", RESET: "30 minutes"}
SET_REASON = {ACTIVATION: "activated", RESET: "reset"}
_CODE = {ACTIVATION: "a", RESET: "r"}
_PURPOSE = {code: purpose for purpose, code in _CODE.items()}
RESET_EMAILS_PER_HOUR = 3
HOUR = 3600
MAX_TOKEN = 200  # longer than any link this service issues: nothing to look up
SET_PATH = "/password/set"

LINK_INVALID = ("This link is no longer valid: it was used, a newer one was sent, it expired, or the password was "
                "set another way since. Ask for a new one.")


@dataclass(frozen=True)
class StoredLink:
    """What is kept of the newest link of one user for one purpose: its hash, when it was issued (ms) and until
    when it works (epoch seconds, also the item's TTL)."""

    uid: str
    purpose: str
    token_hash: str
    issued_ms: int
    expires_at: int


@dataclass(frozen=True)
class SentLink:
    """A link just issued: its user, until when it works (epoch seconds) and whether the email left."""

    uid: str
    purpose: str
    expires_at: int
    email_sent: bool


@dataclass(frozen=True)
class OpenLink:
    """A link that works now: whose it is and what for (the page shows the username), and what is stored of it."""

    uid: str
    purpose: str
    username: str
    stored: StoredLink


class PasswordLinkStore(Protocol):
    """The links and the reset-email counters, stored (`idp.adapters.password_links.PasswordLinks`)."""

    def put_link(self, link: StoredLink) -> None:
        """Store ``link`` as the user's only link for its purpose (the older one stops working)."""

    def get_link(self, uid: str, purpose: str) -> StoredLink | None: ...

    def use_link(self, uid: str, purpose: str, token_hash: str) -> bool:
        """Delete the link only if it still holds ``token_hash``; True for the one caller that did."""

    def restore_link(self, link: StoredLink) -> None:
        """Put back a link that was used for nothing, unless another link of its purpose is stored by now."""

    def note_send(self, key: str, now: float, window: int, limit: int) -> bool:
        """Count one email under ``key``; False (nothing counted) when ``limit`` went out within ``window``."""


class Mail(Protocol):
    def send(self, template: str, to: str | None, base_url: str, **values: str) -> bool: ...


def _parse(token: str) -> tuple[str, str] | None:
    """(purpose, user id) of a link's token, or None when it is not one of ours."""
    if not token or len(token) > MAX_TOKEN:
        return None
    code, _, rest = token.partition(".")
    uid, _, secret = rest.rpartition(".")
    if code not in _PURPOSE or not uid or not secret:
        return None
    return _PURPOSE[code], uid


def _name(user: dict) -> str:
    return " ".join(filter(None, (user.get("firstname"), user.get("lastname")))) or str(user.get("username", ""))


@dataclass
class UserLifecycle:
    directory: "DirectoryService"
    links: PasswordLinkStore
    mail: Mail
    clock: Callable[[], float] = time.time

    def acting_as(self, actor: Actor, ip: str | None = None, user_agent: str | None = None) -> "UserLifecycle":
        return replace(self, directory=self.directory.acting_as(actor, ip, user_agent))

    # ------------------------------------------------------------------ sending
    def send_activation(self, uid: str, base_url: str) -> SentLink:
        """POST /admin/users/{id}/activation (and create with send_activation): a 7-day link by email."""
        return self._send_by_admin(uid, ACTIVATION, base_url)

    def send_reset(self, uid: str, base_url: str) -> SentLink:
        """The console's "Send password reset email": a 30-minute link by email."""
        return self._send_by_admin(uid, RESET, base_url)

    def _send_by_admin(self, uid: str, purpose: str, base_url: str) -> SentLink:
        user = self.directory.store.get_user(uid)
        if not user:
            raise not_found("user", uid)
        if not is_active(user):
            raise DomainError(409, "suspended", f"user '{uid}' is suspended: activate the user before sending a link")
        sent = self._issue(user, purpose, base_url)
        self.directory.record("password", user_id=uid, reason="activation_sent" if purpose == ACTIVATION else "reset_requested",
                              detail={"email_sent": sent.email_sent})
        return sent

    def request_reset(self, login: str, base_url: str) -> None:
        """The public "Forgot password?" form: the caller answers the same whatever this did. An unknown or
        suspended account gets nothing; past RESET_EMAILS_PER_HOUR per account or per login typed, nothing goes."""
        login = (login or "").strip()
        if not login or len(login) > 254:
            return
        now = self.clock()
        typed_ok = self.links.note_send(f"login#{hash_token(login.lower())}", now, HOUR, RESET_EMAILS_PER_HOUR)
        uid = self.directory.store.find_user_id("username", login)
        user = self.directory.store.get_user(uid) if uid else None
        if not user:
            log.info("password reset asked for no account")
            return
        own = self.acting_as(Actor("user", uid), self.directory.ip, self.directory.user_agent).directory
        refused = None
        if not is_active(user):
            refused = "suspended"
        elif not typed_ok or not self.links.note_send(f"user#{uid}", now, HOUR, RESET_EMAILS_PER_HOUR):
            refused = "throttled"
        if refused:
            own.record("password", user_id=uid, reason="reset_requested", outcome="failure", detail={"refused": refused})
            return
        sent = self._issue(user, RESET, base_url)
        own.record("password", user_id=uid, reason="reset_requested", detail={"email_sent": sent.email_sent})

    def _issue(self, user: dict, purpose: str, base_url: str) -> SentLink:
        uid, now = user["id"], self.clock()
        token = f"{_CODE[purpose]}.{uid}.{new_token()}"
        expires_at = int(now) + LIFETIME[purpose]
        self.links.put_link(StoredLink(uid, purpose, hash_token(token), int(now * 1000), expires_at))
        base = base_url.rstrip("/")
        sent = self.mail.send(TEMPLATE[purpose], user.get("email"), base, name=_name(user), username=str(user.get("username", "")),
                              link=f"{base}{SET_PATH}?token={token}", valid_for=VALID_FOR[purpose])
        return SentLink(uid, purpose, expires_at, sent)

    # ------------------------------------------------------------------ using
    def open_link(self, token: str | None) -> OpenLink | None:
        """The link behind ``token`` while it works, else None (the page says so without telling why)."""
        parsed = _parse(token or "")
        if parsed is None:
            return None
        purpose, uid = parsed
        link = self.links.get_link(uid, purpose)
        if link is None or not same(link.token_hash, hash_token(token or "")) or link.expires_at <= self.clock():
            return None
        user = self.directory.store.get_user_item(uid)
        if not user or not is_active(user):
            return None
        if int(user.get("password_set_at", 0)) >= link.issued_ms:  # set another way since the link was sent
            return None
        return OpenLink(uid, purpose, str(user.get("username", "")), link)

    def set_password(self, token: str | None, password: str, confirm: str) -> OpenLink:
        """POST of the "New password" form: the link must work, the two passwords match and pass the checks of a
        new password; then the link is used (once: a concurrent submission loses) and the password set."""
        link = self.open_link(token)
        if link is None:
            raise DomainError(410, "link_invalid", LINK_INVALID)
        if not password:
            raise DomainError(400, "missing_field", "field 'password': enter a new password")
        if password != confirm:
            raise DomainError(400, "invalid_field", "field 'password_confirm': the two passwords do not match")
        self.directory.check_new_password(password, link.uid)
        if not self.links.use_link(link.uid, link.purpose, hash_token(token or "")):
            raise DomainError(410, "link_invalid", LINK_INVALID)
        own = self.directory.acting_as(Actor("user", link.uid), self.directory.ip, self.directory.user_agent)
        try:
            own.set_password(link.uid, password, SET_REASON[link.purpose])
        except Exception:
            # Nothing was set (a concurrent change of the user, AWS failing): the link works again, unless a newer
            # one was sent meanwhile (the put is conditional on no link being there).
            self.links.restore_link(link.stored)
            raise
        return link
