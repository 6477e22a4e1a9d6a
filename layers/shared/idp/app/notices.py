"""The emails that tell a user their account changed (contract section 12): the password changed (a reset link, an
administrator, the account page) and a sign-in method added or removed. A notice never fails the change it tells
of: one that cannot be built or sent is logged (idp.kernel.mail counts the sends that fail)."""
from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Protocol

from idp.kernel.clock import now_iso

log = logging.getLogger(__name__)

PASSWORD_HOW = {"reset": "through a password reset link", "admin_set": "by an administrator", "changed": "on your account page"}


class Sender(Protocol):
    """idp.kernel.mail.Postman as the notices use it."""

    def send(self, template: str, to: str | None, base_url: str, **values: Any) -> bool: ...


def _name(user: dict[str, Any]) -> str:
    return " ".join(filter(None, (user.get("firstname"), user.get("lastname")))) or str(user.get("username", ""))


def _when() -> str:
    return now_iso().replace("T", " ")[:16] + " UTC"


class AccountNotices:
    """`base_url` gives the configured public base URL (links in the message); `get_user` a user by id."""

    def __init__(self, postman: Sender, base_url: Callable[[], str | None],
                 get_user: Callable[[str], dict[str, Any] | None]):
        self.postman, self.base_url, self.get_user = postman, base_url, get_user

    def password_changed(self, user: dict[str, Any], reason: str) -> None:
        """idp.directory.service.DirectoryService's `password_notice`."""
        try:
            self.postman.send("password_changed", user.get("email"), self.base_url() or "", name=_name(user),
                              username=user.get("username", ""), when=_when(), how=PASSWORD_HOW.get(reason, ""))
        except Exception:
            log.exception("password notice not sent")

    def factor_changed(self, uid: str, factor: str, added: bool) -> None:
        """idp.signon.mfa's `factor_changed`: a sign-in method was added or removed."""
        try:
            user = self.get_user(uid) or {}
            self.postman.send("factor_changed", user.get("email"), self.base_url() or "", name=_name(user),
                              username=user.get("username", ""), when=_when(), factor=factor, added=added)
        except Exception:
            log.exception("factor notice not sent")
