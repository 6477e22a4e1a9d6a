"""The password lifecycle's public pages (contract section 9): the use case behind "Forgot password?" (one answer
whatever the account: an unknown, suspended or throttled one gets no email) and the "New password" form of activation
and reset links (the form while the link works; set, the link is used once and every session of the user ends; a
refused password keeps the link and names the field). Changes are recorded as the system's, with the client's
address and user agent."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from idp.app.browser import Client
from idp.directory.lifecycle import ACTIVATION
from idp.kernel.audit import SYSTEM, Actor
from idp.kernel.errors import DomainError


@dataclass(frozen=True)
class LinkShown:
    """A link that works now: the username the form shows, and whether it activates the account (else a reset)."""

    username: str
    activation: bool


@dataclass(frozen=True)
class LinkInvalid:
    """Used, superseded, expired, or the password was set another way since (the page does not say which)."""


@dataclass(frozen=True)
class PasswordSet:
    pass


@dataclass(frozen=True)
class PasswordRefused:
    """The password was not set and the link still works: `message` (a DomainError's, naming ``field 'password'`` or
    ``field 'password_confirm'``), its status, and the field it is about."""

    status: int
    message: str
    field: str
    link: LinkShown


class OpenedLink(Protocol):
    @property
    def purpose(self) -> str: ...

    @property
    def username(self) -> str: ...


class Lifecycle(Protocol):
    """The user lifecycle (idp.directory.lifecycle.UserLifecycle) as the public pages use it."""

    def acting_as(self, actor: Actor, ip: str | None = None, user_agent: str | None = None) -> Lifecycle: ...

    def request_reset(self, login: str, base_url: str) -> None: ...

    def open_link(self, token: str | None) -> OpenedLink | None: ...

    def set_password(self, token: str | None, password: str, confirm: str) -> OpenedLink: ...


def _shown(link: OpenedLink) -> LinkShown:
    return LinkShown(link.username, link.purpose == ACTIVATION)


def _field_of(message: str) -> str:
    for name in ("password_confirm", "password"):
        if f"field '{name}'" in message:
            return name
    return "password"


class PasswordReset:
    def __init__(self, lifecycle: Lifecycle):
        self.lifecycle = lifecycle

    def _as_system(self, client: Client) -> Lifecycle:
        return self.lifecycle.acting_as(SYSTEM, client.ip, client.user_agent)

    def request(self, login: str, *, base_url: str, client: Client) -> None:
        """POST /password/forgot: a reset link by email when the account may have one, starting at `base_url` (the
        route's public base URL: the configured one, never this request's Host when one is configured)."""
        self._as_system(client).request_reset(login, base_url)

    def link(self, token: str) -> LinkShown | None:
        """GET /password/set?token=...: the link while it works."""
        link = self.lifecycle.open_link(token)
        return _shown(link) if link is not None else None

    def set_password(self, token: str, password: str, confirm: str, *, client: Client) -> PasswordSet | LinkInvalid | PasswordRefused:
        """POST /password/set: the link used once and the password set (every session of the user ends)."""
        lifecycle = self._as_system(client)
        try:
            lifecycle.set_password(token, password, confirm)
        except DomainError as exc:
            if exc.code == "link_invalid":
                return LinkInvalid()
            link = lifecycle.open_link(token)
            if link is None:
                return LinkInvalid()
            return PasswordRefused(exc.status, exc.message, _field_of(exc.message), _shown(link))
        return PasswordSet()
