"""The pages of multi-factor sign-in: the login's second step (a field named ``code`` for a TOTP or a
recovery code, and a passkey button when the user has one), and the CSP of pages that run the
product's one static script (the WebAuthn ceremony; no inline script anywhere)."""
from __future__ import annotations

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.shared.cookies import Cookie

from idp.app.login_pages import LoginForm
from idp.web.forms import PAGE_CSP, render
from idp.web.pages import html

#: Our pages that run /static/webauthn.js: scripts from this origin only, fetch back to it.
SCRIPT_PAGE_CSP = PAGE_CSP.replace("default-src 'none';", "default-src 'none'; script-src 'self'; connect-src 'self';")


def second_step_page(status: int, form: LoginForm, *, error: str | None = None, error_code: str | None = None,
                     cookies: list[Cookie] | None = None, headers: dict | None = None) -> Response:
    """The second step of a login (or a step-up): the code form, and a passkey when the user has one."""
    state = form.state
    body = render("login_mfa.html", login_id=state.login_id, csrf=state.csrf, app_label=form.app_label, error=error,
                  error_code=error_code, has_totp=form.has_totp, has_passkey=form.has_passkey)
    return html(status, body, cookies=cookies, csp=SCRIPT_PAGE_CSP, headers=headers)
