"""Email to a person: the message, the port that sends it (`Mailer`), and `Postman`, the one way the
product sends one. A message is rendered from two Jinja2 templates in `mail_templates/`: `<name>.txt`,
whose first line is the subject, and `<name>.html` (autoescaped, optional), each given the product's
name and the IdP's public base URL besides the caller's values.

Links in a message start at the `base_url` the caller passes: the IdP's configured public base URL (or
API Gateway's own domain), as every page's links do, never a request's Host or X-Forwarded-* header.

A message that cannot be sent never fails what sent it: `Postman.send` logs the template's name and
the reason (never the addresses or the body, which may carry a link with a token), counts it
(`on_failure`: the `MailSendFailures` metric and its alarm) and answers False."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Protocol

if TYPE_CHECKING:
    from jinja2 import Environment

log = logging.getLogger(__name__)

TEMPLATES = Path(__file__).with_name("mail_templates")
PRODUCT_NAME = "OfficeSpace IdP"


@dataclass(frozen=True)
class Email:
    to: tuple[str, ...]
    subject: str
    text: str
    html: str | None = None


class MailNotSent(Exception):
    """The message did not leave: no sender configured, or the mail service refused or failed."""


class Mailer(Protocol):
    def send(self, email: Email) -> None:
        """Hand the message to the mail service; `MailNotSent` when it did not take it."""


class NoMailer:
    """No sender address is configured (the template's MailSender is empty): nothing can be sent."""

    def send(self, email: Email) -> None:
        raise MailNotSent("no sender address is configured (MAIL_SENDER)")


@cache
def _environments() -> tuple[Environment, Environment]:
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    loader = FileSystemLoader(str(TEMPLATES))
    text = Environment(loader=loader, autoescape=False, undefined=StrictUndefined, keep_trailing_newline=True)
    html = Environment(loader=loader, autoescape=select_autoescape(["html"]), undefined=StrictUndefined)
    return text, html


def render(template: str, to: str, **values: Any) -> Email:
    """The message `template` to `to`. The subject is the text template's first line (one line, stripped)."""
    text_env, html_env = _environments()
    subject, _, body = text_env.get_template(f"{template}.txt").render(**values).partition("\n")
    html = None
    if (TEMPLATES / f"{template}.html").exists():
        html = html_env.get_template(f"{template}.html").render(**values)
    return Email(to=(to,), subject=" ".join(subject.split()), text=body.lstrip("\n"), html=html)


class Postman:
    """Renders and sends the product's messages, with its name and the IdP's base URL in every one."""

    def __init__(self, mailer: Mailer, on_failure: Callable[[str, str], None] = lambda name, why: None,
                 product: str = PRODUCT_NAME):
        self.mailer = mailer
        self.on_failure = on_failure
        self.product = product

    def send(self, template: str, to: str | None, base_url: str, **values: Any) -> bool:
        """Send message `template` to `to`; True once the mail service took it. A user without an address
        gets nothing (False, not counted as a failure)."""
        if not to:
            return False
        email = render(template, to, product=self.product, base_url=base_url.rstrip("/"), **values)
        try:
            self.mailer.send(email)
        except MailNotSent as exc:
            log.warning("email %r not sent: %s", template, exc)
            self.on_failure(template, str(exc))
            return False
        return True
