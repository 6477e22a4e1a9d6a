"""Who may use the admin console and how its pages answer (contract section 6): an IdP session (the
login's own cookie) of a user whose roles include "admin"; without a session, the login page and back;
a signed-in non-admin, a 403 page. Every POST carries the session's CSRF token (else 403) and only
POSTs change anything. Pages send a strict CSP (no script at all, styles from our own stylesheet),
frame-ancestors 'none', X-Frame-Options DENY and Cache-Control no-store. A DomainError from a service
becomes a 4xx page (forms show it next to their field, see idp.web.console.fields)."""
from __future__ import annotations

import functools
import inspect
from dataclasses import dataclass
from typing import Callable

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response

from idp.app.acting import Acting
from idp.app.console_access import NotAnAdmin, NotSignedIn, SecondFactorFirst
from idp.bootstrap import container
from idp.kernel.audit import Actor
from idp.kernel.errors import DomainError
from idp.kernel.faults import retry_after
from idp.signon.models import PendingSignOn, SignedIn
from idp.web import mfa_gate
from idp.web.forms import render
from idp.web.login_redirect import to_login
from idp.web.pages import html, redirect
from idp.web.request import WebRequest, current_request
from idp.web.session_cookies import session_form_ok, session_id

log = Logger(child=True)

#: No script may run and nothing may frame the console; styles only from our own stylesheet.
CONSOLE_CSP = ("default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
               "base-uri 'none'; frame-ancestors 'none'")


@dataclass(frozen=True)
class Admin:
    """The signed-in administrator of this request, and the request."""

    signed_in: SignedIn
    request: WebRequest

    @property
    def uid(self) -> str:
        return self.signed_in.uid

    @property
    def user(self) -> dict:
        return self.signed_in.user

    @property
    def csrf(self) -> str:
        return self.signed_in.session.csrf

    @property
    def form(self):
        return self.request.form

    @property
    def actor(self) -> Actor:
        return Actor("admin", self.uid)

    @property
    def acting(self) -> Acting:
        """This administrator, from this request's client: whom a use case records a change as done by."""
        return Acting(self.actor, self.request.client_ip, self.request.headers.get("user-agent"))

    @property
    def directory(self):
        """The DirectoryService the admin API calls, recording its changes as done by this administrator."""
        return container().directory.acting_as(self.actor, self.request.client_ip, self.request.headers.get("user-agent"))

    @property
    def apps(self):
        """The AppService the admin API calls, recording its changes as done by this administrator."""
        return container().apps.acting_as(self.actor, self.request.client_ip, self.request.headers.get("user-agent"))


def page(http_status: int, template: str, admin: Admin | None, /, **context) -> Response:
    """A console page: the template with the navigation's context, and the console's headers."""
    body = render(template, admin=admin, user=admin.user if admin else None, csrf=admin.csrf if admin else None,
                  path=admin.request.path if admin else "", **context)
    return html(http_status, body, csp=CONSOLE_CSP)


def see_other(location: str) -> Response:
    """After a POST that worked: the page to look at next (a 303, so a reload never posts again)."""
    response = redirect(location)
    response.status_code = 303
    return response


def problem(status: int, title: str, message: str, admin: Admin | None = None, code: str | None = None) -> Response:
    """The console's error page (403 not an admin, 403 CSRF, a service's 4xx, 404)."""
    return page(status, "console/problem.html", admin, title=title, message=message, code=code)


def _to_login(request: WebRequest) -> Response:
    """A new pending login that comes back to this console page (the path of a GET; the dashboard after a POST)."""
    back = request.path + (f"?{request.raw_query}" if request.raw_query else "") if request.method == "GET" else "/console"
    return to_login(request, PendingSignOn.console(back))


def authorize(request: WebRequest) -> Admin | Response:
    """The Admin of this request, or the answer that stops it: login, not an admin, CSRF missing or wrong."""
    back = request.path + (f"?{request.raw_query}" if request.raw_query else "") if request.method == "GET" else "/console"
    pending = PendingSignOn.console(back)
    answer = container().console_access.check(session_id(request), pending)
    if isinstance(answer, NotSignedIn):
        return _to_login(request)
    if isinstance(answer, NotAnAdmin):
        log.warning("console refused: user is not an administrator", extra={"user_id": answer.current.uid})
        return problem(403, "Administrators only",
                       "You are signed in, but your account is not an administrator of this identity provider. "
                       "Ask an administrator to give you the admin role.", code="not_admin")
    current = answer.current
    if isinstance(answer, SecondFactorFirst):  # "with MFA when the policy asks"
        return mfa_gate.interrupt(answer.need, current.user, current.session, pending, request, [])
    admin = Admin(current, request)
    if request.method == "POST" and not session_form_ok(request, current):
        log.warning("console refused: CSRF token missing or wrong", extra={"user_id": current.uid})
        return problem(403, "Form expired",
                       "The form is missing its security token or it does not belong to your session. "
                       "Reload the page and try again.", admin, code="csrf_failed")
    return admin


def console_route(router) -> Callable:
    """Decorate a console route: it runs only for an authorized Admin (its first argument); a service's
    DomainError is a 4xx page, anything unexpected a logged 500 page that leaks nothing."""

    def decorate(fn: Callable) -> Callable:
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            admin = None
            try:
                request = current_request(router)
                admin = authorize(request)
                if isinstance(admin, Response):
                    return admin
                return fn(admin, *args, **kwargs)
            except DomainError as exc:
                if exc.status >= 500:
                    log.error("console: server error: %s", exc.message)
                    return problem(500, "Something went wrong", "An internal error occurred; it has been logged.",
                                   admin if isinstance(admin, Admin) else None)
                return problem(exc.status, "This cannot be done", exc.message,
                               admin if isinstance(admin, Admin) else None, code=exc.code)
            except Exception as exc:  # a page, never a stack trace
                if (seconds := retry_after(exc)) is not None:
                    log.warning("console: AWS unavailable in %s: %s", fn.__name__, type(exc).__name__)
                    answer = problem(503, "Busy for a moment", f"The identity provider is busy or briefly "
                                     f"unavailable; nothing was changed. Try again in {seconds} seconds.",
                                     admin if isinstance(admin, Admin) else None, code="service_unavailable")
                    answer.headers["Retry-After"] = str(seconds)
                    return answer
                log.exception("console: unexpected error in %s", fn.__name__)
                return problem(500, "Something went wrong", "An internal error occurred; it has been logged.",
                               admin if isinstance(admin, Admin) else None)

        # The route's parameters are the path's alone: powertools (validating, as in the local stack's resolver
        # beside the typed admin routes) would read an extra one, the Admin, as a JSON body to parse.
        signature = inspect.signature(fn)
        del wrapper.__wrapped__
        wrapper.__signature__ = signature.replace(parameters=list(signature.parameters.values())[1:])
        return wrapper

    return decorate
