"""The pages of multi-factor sign-in: the login's second step (a field named ``code`` for a TOTP or a
recovery code, and a passkey button when the user has one), and the CSP of pages that run the
product's one static script (the WebAuthn ceremony; no inline script anywhere)."""
from __future__ import annotations

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.shared.cookies import Cookie

from idp.bootstrap import container
from idp.signon.models import LoginState
from idp.web.forms import PAGE_CSP, render
from idp.web.pages import html

#: Our pages that run /static/webauthn.js: scripts from this origin only, fetch back to it.
SCRIPT_PAGE_CSP = PAGE_CSP.replace("default-src 'none';", "default-src 'none'; script-src 'self'; connect-src 'self';")


def passkeys_allowed() -> bool:
    """The MFA policy counts passkeys (an administrator may allow authenticator apps only)."""
    return "webauthn" in container().mfa.policy().methods


def totp_allowed() -> bool:
    """The MFA policy counts authenticator apps (an administrator may allow passkeys only)."""
    return "totp" in container().mfa.policy().methods


def second_step_page(status: int, state: LoginState, app_label: str | None, *, error: str | None = None,
                     error_code: str | None = None, cookies: list[Cookie] | None = None, headers: dict | None = None) -> Response:
    """The second step of a login (or a step-up): the code form, and a passkey when the user has one."""
    factors = container().mfa.factors(state.uid)
    has_totp = any(f["type"] == "totp" for f in factors)
    has_passkey = passkeys_allowed() and any(f["type"] == "webauthn" for f in factors)
    body = render("login_mfa.html", login_id=state.login_id, csrf=state.csrf, app_label=app_label, error=error,
                  error_code=error_code, has_totp=has_totp, has_passkey=has_passkey)
    return html(status, body, cookies=cookies, csp=SCRIPT_PAGE_CSP, headers=headers)
