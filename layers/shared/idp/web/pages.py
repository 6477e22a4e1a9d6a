"""What every SAML-facing page shares: the security headers, an HTML answer, a redirect, the error
page that names the problem (and logs its cause), and the guard that turns any failure into a 4xx
page, a 503 with Retry-After while AWS throttles or fails, or a logged generic 500, never a stack trace."""
from __future__ import annotations

import functools
from typing import Callable

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.shared.cookies import Cookie

from idp.kernel.errors import DomainError
from idp.kernel.faults import retry_after
from idp.saml.errors import SamlRequestError
from idp.web.forms import PAGE_CSP, render

log = Logger(child=True)


def security_headers(csp: str = PAGE_CSP) -> dict:
    return {
        "Cache-Control": "no-store",
        "Pragma": "no-cache",
        "Content-Security-Policy": csp,
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
    }


def html(status: int, body: str, *, cookies: list[Cookie] | None = None, csp: str = PAGE_CSP,
         headers: dict | None = None) -> Response:
    return Response(
        status_code=status,
        content_type="text/html; charset=utf-8",
        body=body,
        headers={**security_headers(csp), **(headers or {})},
        cookies=cookies or [],
    )


def redirect(location: str, cookies: list[Cookie] | None = None) -> Response:
    """A 302 to ``location`` (setting ``cookies``)."""
    return Response(status_code=302, content_type="text/html; charset=utf-8", body="",
                    headers={**security_headers(), "Location": location}, cookies=cookies or [])


def wait_words(seconds: int) -> str:
    """``30 seconds``, ``2 minutes``: how long to wait, rounded up."""
    if seconds < 60:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = (seconds + 59) // 60
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def error_page(status: int, code: str, title: str, message: str, *, hint: str | None = None,
               cause: str | None = None, cookies: list[Cookie] | None = None, home: bool = False,
               app: str | None = None, user_id: str | None = None) -> Response:
    """The 4xx page that names the problem (``code`` is shown for the administrator); logs the cause."""
    log.warning("saml request refused status=%s code=%s cause=%s", status, code, cause or message,
                extra={"app": app, "user_id": user_id})
    body = render("error.html", status=status, code=code, title=title, message=message, hint=hint,
                  home_url="/" if home else None)
    return html(status, body, cookies=cookies)


def unknown_app(slug: str) -> Response:
    return error_page(404, "unknown_app", "Unknown application",
                      f"There is no application '{slug}' on this identity provider.",
                      hint="Check the sign-in link, or ask your administrator for the right one.",
                      cause=f"unknown app slug {slug!r}")


def _internal_error() -> Response:
    body = render("error.html", status=500, code="internal_error", title="Something went wrong",
                  message="The identity provider hit an internal error; it has been logged. Try again in a moment.",
                  hint=None, home_url="/")
    return html(500, body)


def unavailable_page(seconds: int) -> Response:
    """AWS throttled or failed: a 503 page with Retry-After (contract section 13), for browsers and SPs."""
    body = render("error.html", status=503, code="service_unavailable", title="Busy for a moment",
                  message=f"The identity provider is busy or briefly unavailable. Try again in {seconds} seconds.",
                  hint=None, home_url="/")
    return html(503, body, headers={"Retry-After": str(seconds)})


def guard(fn: Callable) -> Callable:
    """Bad input must never become a 5xx: an unexpected error is logged and shown as a page."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except SamlRequestError as exc:
            return error_page(exc.status, exc.code, "This sign-in request cannot be processed", exc.message)
        except DomainError as exc:
            if exc.status < 500:
                return error_page(exc.status, exc.code, "This request cannot be processed", exc.message)
            log.error("server error in %s: %s", fn.__name__, exc.message)
            return _internal_error()
        except Exception as exc:  # a page (503 or 500), never a stack trace
            if (seconds := retry_after(exc)) is not None:
                log.warning("AWS unavailable in %s: %s: %s", fn.__name__, type(exc).__name__, str(exc)[:200])
                return unavailable_page(seconds)
            log.exception("unexpected error in %s", fn.__name__)
            return _internal_error()

    return wrapper
