"""The public pages of the password lifecycle (contract section 9): "Forgot password?" (GET /password/forgot, a
field "Username or email" and "Send reset link"; its POST answers the same page and status whatever the account)
and the "New password" form of activation and reset links (GET /password/set?token=..., "New password",
"Confirm new password", "Set password"). The forms' GETs are the login function's; their POSTs the admin
function's (web/password_routes), which may write users' password hashes and links. Every page carries
`Referrer-Policy: no-referrer` (idp.web.pages.security_headers): the link's token never leaves in a Referer."""
from __future__ import annotations

from aws_lambda_powertools.event_handler import Response

from idp.app.browser import Client
from idp.app.password_reset import LinkInvalid, LinkShown, PasswordRefused, PasswordReset
from idp.bootstrap import container
from idp.directory.lifecycle import LINK_INVALID
from idp.web.forms import render
from idp.web.pages import html
from idp.web.request import WebRequest


def _use_case() -> PasswordReset:
    return container().password_reset


def _client(request: WebRequest) -> Client:
    return Client(request.client_ip, request.headers.get("user-agent"))


def forgot_form(request: WebRequest) -> Response:
    """GET /password/forgot."""
    return html(200, render("password_forgot.html", sent=False))


def forgot_submit(request: WebRequest) -> Response:
    """POST /password/forgot: one answer for every login typed (an unknown, suspended or throttled account gets no
    email); the link in the email starts at the IdP's configured base URL, never this request's Host."""
    _use_case().request(request.form.get("login") or "", base_url=request.base_url, client=_client(request))
    return html(200, render("password_forgot.html", sent=True))


def _form(status: int, token: str, link: LinkShown, *, error: str | None = None,
          error_field: str | None = None) -> Response:
    return html(status, render("password_set.html", token=token, username=link.username, activation=link.activation,
                               error=error, error_field=error_field, done=False, invalid=None))


def _invalid() -> Response:
    return html(410, render("password_set.html", invalid=LINK_INVALID, done=False))


def set_form(request: WebRequest) -> Response:
    """GET /password/set?token=...: the "New password" form while the link works, else a 410 page saying so."""
    token = request.query.get("token") or ""
    link = _use_case().link(token)
    if link is None:
        return _invalid()
    return _form(200, token, link)


def set_submit(request: WebRequest) -> Response:
    """POST /password/set: the link used once and the password set (every session of the user ends); a refused
    password keeps the link and shows the form again with the reason beside the field."""
    form = request.form
    token = form.get("token") or ""
    done = _use_case().set_password(token, form.get("password") or "", form.get("password_confirm") or "",
                                    client=_client(request))
    if isinstance(done, LinkInvalid):
        return _invalid()
    if isinstance(done, PasswordRefused):
        words = done.message
        for name, label in (("password_confirm", "Confirm new password"), ("password", "New password")):
            words = words.replace(f"field '{name}'", label)
        return _form(done.status, token, done.link, error=words, error_field=done.field)
    return html(200, render("password_set.html", done=True, invalid=None))
