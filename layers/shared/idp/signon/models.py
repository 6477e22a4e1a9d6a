"""The nouns of sign-on: what a login resumes when it is done (an SP's AuthnRequest, an IdP-initiated
start, or the portal), the pending login state bound to one browser, and a live IdP session."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping


@dataclass(frozen=True)
class PendingSignOn:
    """What to do once the user is signed in. ``kind`` is ``sp`` (answer this AuthnRequest), ``idp``
    (IdP-initiated SSO to ``slug``) or None (go to the portal)."""

    kind: str | None = None
    slug: str | None = None
    request_id: str | None = None
    acs_url: str | None = None
    relay_state: str | None = None
    force_authn: bool = False
    return_to: str | None = None  # kind "console" or "account": the page to go back to
    mfa_requested: bool = False  # the AuthnRequest asked for the REFEDS MFA profile
    requested_at: int | None = None  # kind "sp": when the request arrived (epoch seconds; ForceAuthn's fresh bound)

    @classmethod
    def sp(cls, slug: str, request_id: str, acs_url: str, relay_state: str | None, force_authn: bool,
           mfa_requested: bool = False, requested_at: int | None = None) -> "PendingSignOn":
        return cls("sp", slug, request_id, acs_url, relay_state, force_authn, mfa_requested=mfa_requested,
                   requested_at=requested_at)

    @classmethod
    def account(cls, path: str = "/account") -> "PendingSignOn":
        """Back to this account page (after the step-up, or the password typed again, it asked for); a sign-in an
        enrolment paused is found there again by the browser's resume cookie (no login id is stored in another
        login's state)."""
        return cls("account", return_to=account_path(path))

    def fresh_enough(self, auth_instant: int) -> bool:
        """A ForceAuthn request is answered only by a session that authenticated since the request arrived."""
        return not self.force_authn or (self.requested_at is not None and auth_instant >= self.requested_at)

    @classmethod
    def idp(cls, slug: str) -> "PendingSignOn":
        return cls("idp", slug)

    @classmethod
    def console(cls, path: str) -> "PendingSignOn":
        """Back to this page of the admin console (a path under /console; anything else is /console)."""
        return cls("console", return_to=console_path(path))

    @property
    def resume_path(self) -> str:
        """Where a login that answers no app goes: the console page it came from, else the portal."""
        if self.kind == "account":
            return account_path(self.return_to)
        return console_path(self.return_to) if self.kind == "console" else "/"

    @property
    def sp_initiated(self) -> bool:
        return self.kind == "sp"

    def to_item(self) -> dict:
        """The stored form (the login state item's ``pending`` map)."""
        if self.kind == "sp":
            return {"kind": "sp", "slug": self.slug, "request_id": self.request_id, "acs_url": self.acs_url,
                    "relay_state": self.relay_state, "force_authn": self.force_authn, "mfa_requested": self.mfa_requested,
                    "requested_at": self.requested_at}
        if self.kind == "idp":
            return {"kind": "idp", "slug": self.slug}
        if self.kind == "account":
            return {"kind": "account", "return_to": self.return_to}
        if self.kind == "console":
            return {"kind": "console", "return_to": self.return_to}
        return {}

    @classmethod
    def from_item(cls, item: Mapping | None) -> "PendingSignOn":
        item = item or {}
        at = item.get("requested_at")
        return cls(item.get("kind"), item.get("slug"), item.get("request_id"), item.get("acs_url"),
                   item.get("relay_state"), bool(item.get("force_authn")), item.get("return_to"),
                   bool(item.get("mfa_requested")), int(at) if at is not None else None)


def account_path(path: str | None) -> str:
    """``path`` when it is the account page or its enrolment page (``/account/setup?resume=...``), a plain path
    that is never an open redirect; else /account."""
    if path and path.split("?", 1)[0] in ("/account", "/account/setup") and "\\" not in path and "//" not in path \
            and ".." not in path and all(31 < ord(c) < 127 for c in path):
        return path
    return "/account"


def console_path(path: str | None) -> str:
    """``path`` when it is a plain path under /console (no scheme, host, backslash or dot segment: never
    an open redirect), else /console."""
    if path and (path == "/console" or path.startswith(("/console/", "/console?"))) and "\\" not in path \
            and "//" not in path and ".." not in path and all(31 < ord(c) < 127 for c in path):
        return path
    return "/console"


@dataclass(frozen=True)
class LoginState:
    """One pending login: its id (in the form), its CSRF token, the browser it belongs to (the
    SHA-256 of that browser's binding cookie) and what it resumes. Stages read and extend it. Past the
    password (or for a step-up of a live session) it names the user and how they signed in so far
    (``uid``, ``amr``): the second step then asks for a factor only. A sign-in that an enrolment interrupted
    names the user it waits for (``paused_for``): only that user's session resumes it, on the account page."""

    login_id: str
    csrf: str
    browser: str | None
    pending: PendingSignOn
    uid: str | None = None
    amr: tuple[str, ...] = ()
    epoch: int | None = None  # the user's session epoch when the login got past the password
    password_at: int | None = None  # when the password was typed (a step-up: the session's), None: not yet
    paused_for: str | None = None  # the user whose enrolment of a factor paused this sign-in

    @classmethod
    def from_item(cls, login_id: str, item: Mapping) -> "LoginState":
        stored = item.get("pending") or {}
        return cls(login_id, item["csrf"], stored.get("browser"), PendingSignOn.from_item(stored), item.get("uid"),
                   tuple(item.get("amr") or ()), int(item["epoch"]) if item.get("epoch") is not None else None,
                   _seconds(item.get("pwd_at")), stored.get("paused_for"))


@dataclass(frozen=True)
class Session:
    """A live IdP session (the cookie holds its id; the store only its hash)."""

    uid: str
    session_index: str
    csrf: str
    auth_instant: int  # epoch seconds
    absolute_expiry: int
    amr: tuple[str, ...] = ("pwd",)  # how the user signed in (RFC 8176: pwd, otp, webauthn)
    password_at: int | None = None  # when the user last typed the password in this session (None: not at all)

    @classmethod
    def from_item(cls, item: Mapping) -> "Session":
        return cls(item["uid"], item["session_index"], item["csrf"], int(item["auth_instant"]), int(item["absolute_expiry"]),
                   tuple(item.get("amr") or ("pwd",)), _seconds(item.get("pwd_at")))


@dataclass(frozen=True)
class SignedIn:
    """The browser's session and its user (existing and active)."""

    session_id: str
    session: Session
    user: dict

    @property
    def uid(self) -> str:
        return self.session.uid


def _seconds(value) -> int | None:
    """An epoch-seconds attribute of a stored item (a DynamoDB number), or None when it is absent."""
    return int(value) if value is not None else None
