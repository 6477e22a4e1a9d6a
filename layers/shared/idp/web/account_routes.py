"""The signed-in user's account page, /account (contract section 7): sign-in methods with their last use,
"Set up authenticator app" (a QR code of the otpauth:// URI and the setup key, confirmed by a field named
``code``), passkeys (added by web/passkey_routes; renamed and removed here), recovery codes (regenerated,
shown once) and a password change (the current password required; every other session ends). Every
POST carries the session's CSRF token. Sign-in methods are managed only from a session whose password was
typed within IDP_REAUTH_SECONDS (else the login form asks for it again, and the factor where the user has
one: a stolen session cookie alone cannot enrol an attacker's authenticator) and, for a user who holds a
factor, that passed one (a stolen password alone cannot either); a user who must enrol before a Response
comes here with ``resume`` and goes on to the app once enrolled."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.shared.cookies import Cookie

from idp.app.account import (
    CurrentPasswordRefused,
    FactorAdded,
    Gate,
    MethodOff,
    MyAccount,
    NewPasswordRefused,
    NothingToResume,
    ResumeAt,
    SealKeyMissing,
    SetupExpired,
    ToLoginForm,
    WrongCode,
)
from idp.bootstrap import container
from idp.signon.models import PendingSignOn, SignedIn
from idp.web.forms import render
from idp.web.login_redirect import to_login, to_step_up
from idp.web.mfa_pages import SCRIPT_PAGE_CSP
from idp.web.pages import error_page, html, redirect
from idp.web.request import WebRequest
from idp.web.session_cookies import BROWSER, RESUME, browser_binding, clear, read, session_cookie, session_form_ok, session_id

if TYPE_CHECKING:
    from idp.signon.mfa.service import TotpSetup

TOTP_OFF = "Your organization's sign-in policy does not allow authenticator apps: set up a passkey instead."
NOT_READY = ("Authenticator apps are not ready yet on this sign-in service: an administrator opens the MFA settings "
             "once (the console's Settings, or GET /admin/mfa), which creates their key. A passkey works already.")


def my_account() -> MyAccount:
    """The use case of every account page (idp.app.account)."""
    return container().my_account


def _current(request: WebRequest) -> SignedIn | None:
    return my_account().signed_in(session_id(request))


def _resume_of(request: WebRequest, current: SignedIn) -> str | None:
    """The sign-in an enrolment paused for this user in this browser, if any: named by the page (``resume`` in the
    query of /account/setup, or a form field), else remembered by the browser (its resume cookie)."""
    named = (request.query.get("resume"), request.form.get("resume"), read(request, RESUME))
    return my_account().paused_sign_in(current, named, read(request, BROWSER))


def _step_up(request: WebRequest, current: SignedIn) -> Response:
    # back to this page, which finds a sign-in an enrolment paused again by the browser's resume cookie
    return to_step_up(request, current.session, PendingSignOn.account())


def _reauth(request: WebRequest, back: str = "/account") -> Response:
    """The login form again (the password, then the factor where the user has one), coming back to ``back``."""
    return to_login(request, PendingSignOn.account(back))


def _csrf_failed() -> Response:
    return error_page(403, "csrf_failed", "Form expired", "The form is missing its security token or has expired. "
                      "Reload your account page and try again.", cause="account csrf check failed", home=True)


def _gated(request: WebRequest, current: SignedIn, back: str = "/account") -> Response | None:
    gate = my_account().gate(current)
    if gate is Gate.REAUTH:
        return _reauth(request, back)
    if gate is Gate.STEP_UP:
        return _step_up(request, current)
    return None


def _guard_post(request: WebRequest) -> tuple[SignedIn | None, Response | None]:
    """The signed-in user of a POST with the session's CSRF token, allowed to manage factors; else the answer."""
    current = _current(request)
    if current is None:
        return None, redirect("/login")
    if not session_form_ok(request, current):
        return None, _csrf_failed()
    return current, _gated(request, current)


def _page(current: SignedIn, *, status: int = 200, notice: str | None = None, error: str | None = None,
          cookies: list[Cookie] | None = None, resume: str | None = None, **extra: Any) -> Response:
    view = my_account().view(current)
    body = render("account.html", user=current.user, csrf=current.session.csrf, factors=view.factors,
                  recovery_left=view.recovery_left, policy=view.policy, notice=notice, error=error, resume=resume, **extra)
    return html(status, body, cookies=cookies, csp=SCRIPT_PAGE_CSP)


def _added(added: FactorAdded, notice: str, resume: str | None) -> Response:
    return _page(added.renewed, notice=notice, recovery_codes=list(added.recovery_codes) or None, resume=resume,
                 cookies=[session_cookie(added.renewed.session_id)])


def account(request: WebRequest) -> Response:
    """GET /account (and /account/setup?resume=: enrol before going on to the app)."""
    current = _current(request)
    if current is None:
        return redirect("/login")
    refused = _gated(request, current, request.path + (f"?{request.raw_query}" if request.raw_query else ""))
    if refused:
        return refused
    resume = _resume_of(request, current)
    notice = "Your organization requires a second sign-in step. Set up an authenticator app or a passkey to continue." \
        if resume else None
    return _page(current, notice=notice, resume=resume)


def _qr_data_uri(uri: str) -> str:
    import segno  # on an enrolment only (cold start of the login function)

    return segno.make(uri, error="m").svg_data_uri(scale=5, border=2)


def _totp_page(status: int, current: SignedIn, setup: "TotpSetup", resume: str | None, error: str | None = None) -> Response:
    body = render("account_totp.html", csrf=current.session.csrf, factor_id=setup.factor_id, secret=setup.secret,
                  qr=_qr_data_uri(setup.uri), resume=resume, error=error)
    return html(status, body)


def totp_begin(request: WebRequest) -> Response:
    """POST /account/totp: a pending authenticator app; the page shows its QR code and setup key."""
    current, refused = _guard_post(request)
    if refused or current is None:
        return refused or redirect("/login")
    begun = my_account().begin_totp(current)
    if isinstance(begun, MethodOff):
        return _page(current, status=403, error=TOTP_OFF, resume=_resume_of(request, current))
    if isinstance(begun, SealKeyMissing):  # a fresh deployment whose admin function has not created the seed key yet
        return _page(current, status=503, error=NOT_READY)
    return _totp_page(200, current, begun, _resume_of(request, current))


def totp_confirm(request: WebRequest) -> Response:
    """POST /account/totp/confirm: the first code confirms the app; new recovery codes are shown once."""
    current, refused = _guard_post(request)
    if refused or current is None:
        return refused or redirect("/login")
    resume = _resume_of(request, current)
    confirmed = my_account().confirm_totp(current, request.form.get("factor") or "", request.form.get("code") or "",
                                          ip=request.client_ip)
    if confirmed is MethodOff.TOTP:
        return _page(current, status=403, error=TOTP_OFF, resume=resume)
    if isinstance(confirmed, SetupExpired):
        return _page(current, status=400, error="That setup expired. Start again with “Set up authenticator app”.",
                     resume=resume)
    if isinstance(confirmed, WrongCode):
        return _totp_page(401, current, confirmed.setup, resume,
                          error="That code is not valid. Enter the code your authenticator app shows now.")
    assert isinstance(confirmed, FactorAdded)
    return _added(confirmed, "Authenticator app added.", resume)


def recovery_regenerate(request: WebRequest) -> Response:
    """POST /account/recovery: ten new recovery codes (the old ones stop working), shown once."""
    current, refused = _guard_post(request)
    if refused or current is None:
        return refused or redirect("/login")
    codes = my_account().regenerate_recovery(current)
    if codes is None:
        return _page(current, status=400, error="Set up an authenticator app or a passkey first.")
    return _page(current, notice="New recovery codes: the old ones no longer work.", recovery_codes=list(codes))


def factor_rename(request: WebRequest, fid: str) -> Response:
    current, refused = _guard_post(request)
    if refused or current is None:
        return refused or redirect("/login")
    if not my_account().rename(current, fid, request.form.get("name") or ""):
        return _page(current, status=400, error="Give the passkey a name (and pick one of yours).")
    return _page(current, notice="Renamed.")


def factor_remove(request: WebRequest, fid: str) -> Response:
    current, refused = _guard_post(request)
    if refused or current is None:
        return refused or redirect("/login")
    if not my_account().remove(current, fid):
        return _page(current, status=404, error="No such sign-in method.")
    return _page(current, notice="Removed.")


#: The account page's words for a current password the login flow did not accept (its ShowForm reason).
_CURRENT_PASSWORD = {"missing_credentials": (400, "Enter your current password."),
                     "wrong_credentials": (401, "Your current password is not right."),
                     "throttled": (429, "Too many wrong passwords.")}


def password_change(request: WebRequest) -> Response:
    """POST /account/password: the new password first (its refusal is the same whatever the current one), then the
    current one, throttled and counted like a login's password (a wrong one is a failed sign-in); done, every other
    session of the user ends. The change is the user's own in the audit log (their id, address, user agent)."""
    from idp.web.pages import wait_words
    from idp.web.session_cookies import DEVICE
    from idp.web.sso_routes import client

    current = _current(request)
    if current is None:
        return redirect("/login")
    if not session_form_ok(request, current):
        return _csrf_failed()
    changed = my_account().change_password(current, current_password=request.form.get("current_password") or "",
                                           new_password=request.form.get("new_password") or "", client=client(request),
                                           device=read(request, DEVICE))
    if isinstance(changed, NewPasswordRefused):  # the rule of the password policy beside the new password's field
        return _page(current, status=changed.status, password_error=changed.message)
    if isinstance(changed, CurrentPasswordRefused):
        status, error = _CURRENT_PASSWORD[changed.reason]
        wait = f" Try again in {wait_words(changed.retry_after)}." if changed.retry_after else ""
        answer = _page(current, status=status, error=error + wait)
        if changed.retry_after:
            answer.headers["Retry-After"] = str(changed.retry_after)
        return answer
    return _page(changed.renewed, notice="Password changed. You were signed out everywhere else.",
                 cookies=[session_cookie(changed.renewed.session_id)])


def resume(request: WebRequest) -> Response:
    """POST /account/resume: after enrolling, go on to the app the sign-in was for (idp.app.account.MyAccount.resume)."""
    from idp.web import sso_routes

    current = _current(request)
    if current is None:
        return redirect("/login")
    if not session_form_ok(request, current):
        return _csrf_failed()
    browser, _cookies = browser_binding(request)
    resumed = my_account().resume(current, request.form.get("resume"), browser, base_url=request.base_url,
                                  client=sso_routes.client(request))
    if isinstance(resumed, ToLoginForm):  # a sign-in of this browser that no enrolment paused
        return redirect(f"/login?state={quote(resumed.login_id)}")
    if isinstance(resumed, NothingToResume):
        return redirect("/", [clear(RESUME)])
    if isinstance(resumed, ResumeAt):
        return redirect(resumed.path, [clear(RESUME)])
    return sso_routes.render(resumed.answer, request, [clear(RESUME)])
