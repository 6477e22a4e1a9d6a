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

from urllib.parse import quote

from aws_lambda_powertools.event_handler import Response

from idp.bootstrap import container
from idp.kernel.errors import DomainError
from idp.signon.mfa.policy import OTP, satisfied
from idp.signon.models import PendingSignOn, SignedIn
from idp.web.forms import render
from idp.web.login_redirect import to_login, to_step_up
from idp.web.mfa_pages import SCRIPT_PAGE_CSP, totp_allowed
from idp.web.pages import error_page, html, redirect
from idp.web.request import WebRequest
from idp.web.session_cookies import BROWSER, RESUME, browser_binding, clear, read, session_cookie, session_form_ok, session_id

TOTP_OFF = "Your organization's sign-in policy does not allow authenticator apps: set up a passkey instead."


def _current(request: WebRequest) -> SignedIn | None:
    return container().signon.signed_in(session_id(request))


def may_manage(current: SignedIn) -> bool:
    """A user with a factor changes factors only from a session that passed one."""
    return satisfied(current.session.amr) or not container().mfa.has_factor(current.uid)


def password_recent(current: SignedIn) -> bool:
    """The password was typed in this session within IDP_REAUTH_SECONDS (contract section 7)."""
    return container().signon.password_recent(current)


def _resume_of(request: WebRequest, current: SignedIn) -> str | None:
    """The sign-in an enrolment paused for this user in this browser, if any: named by the page (``resume`` in the
    query of /account/setup, or a form field), else remembered by the browser (its resume cookie)."""
    signon, browser = container().signon, read(request, BROWSER)
    for lid in dict.fromkeys((request.query.get("resume"), request.form.get("resume"), read(request, RESUME))):
        if lid and browser and signon.resumable(lid, browser, current.uid) is not None:
            return lid
    return None


def _step_up(request: WebRequest, current: SignedIn) -> Response:
    # back to this page, which finds a sign-in an enrolment paused again by the browser's resume cookie
    return to_step_up(request, current.session, PendingSignOn.account())


def _reauth(request: WebRequest, back: str = "/account") -> Response:
    """The login form again (the password, then the factor where the user has one), coming back to ``back``."""
    return to_login(request, PendingSignOn.account(back))


def _csrf_failed() -> Response:
    return error_page(403, "csrf_failed", "Form expired", "The form is missing its security token or has expired. "
                      "Reload your account page and try again.", cause="account csrf check failed", home=True)


def _guard_post(request: WebRequest) -> tuple[SignedIn | None, Response | None]:
    """The signed-in user of a POST with the session's CSRF token, allowed to manage factors; else the answer."""
    current = _current(request)
    if current is None:
        return None, redirect("/login")
    if not session_form_ok(request, current):
        return None, _csrf_failed()
    if not password_recent(current):
        return None, _reauth(request)
    if not may_manage(current):
        return None, _step_up(request, current)
    return current, None


def _page(current: SignedIn, *, status: int = 200, notice: str | None = None, error: str | None = None,
          cookies=None, resume: str | None = None, **extra) -> Response:
    mfa = container().mfa
    body = render("account.html", user=current.user, csrf=current.session.csrf, factors=mfa.factors(current.uid),
                  recovery_left=mfa.recovery_left(current.uid), policy=mfa.policy().view(), notice=notice, error=error,
                  resume=resume, **extra)
    return html(status, body, cookies=cookies, csp=SCRIPT_PAGE_CSP)


def account(request: WebRequest) -> Response:
    """GET /account (and /account/setup?resume=: enrol before going on to the app)."""
    current = _current(request)
    if current is None:
        return redirect("/login")
    if not password_recent(current):
        return _reauth(request, request.path + (f"?{request.raw_query}" if request.raw_query else ""))
    if not may_manage(current):
        return _step_up(request, current)
    resume = _resume_of(request, current)
    notice = "Your organization requires a second sign-in step. Set up an authenticator app or a passkey to continue." \
        if resume else None
    return _page(current, notice=notice, resume=resume)


def _qr_data_uri(uri: str) -> str:
    import segno  # on an enrolment only (cold start of the login function)

    return segno.make(uri, error="m").svg_data_uri(scale=5, border=2)


def totp_begin(request: WebRequest) -> Response:
    """POST /account/totp: a pending authenticator app; the page shows its QR code and setup key."""
    current, refused = _guard_post(request)
    if refused:
        return refused
    if not totp_allowed():
        return _page(current, status=403, error=TOTP_OFF, resume=_resume_of(request, current))
    from idp.signon.mfa.ports import SealKeyUnavailable

    try:
        setup = container().mfa.begin_totp(current.uid, current.user.get("email") or current.user["username"])
    except SealKeyUnavailable:  # a fresh deployment whose admin function has not created the seed key yet
        return _page(current, status=503, error="Authenticator apps are not ready yet on this sign-in service: "
                     "an administrator opens the MFA settings once (the console's Settings, or GET /admin/mfa), "
                     "which creates their key. A passkey works already.")
    body = render("account_totp.html", csrf=current.session.csrf, factor_id=setup.factor_id, secret=setup.secret,
                  qr=_qr_data_uri(setup.uri), resume=_resume_of(request, current), error=None)
    return html(200, body)


def totp_confirm(request: WebRequest) -> Response:
    """POST /account/totp/confirm: the first code confirms the app; new recovery codes are shown once."""
    current, refused = _guard_post(request)
    if refused:
        return refused
    fid, resume = request.form.get("factor") or "", _resume_of(request, current)
    if not totp_allowed():  # the policy changed since the setup began
        return _page(current, status=403, error=TOTP_OFF, resume=resume)
    codes = container().mfa.confirm_totp(current.uid, fid, request.form.get("code") or "", ip=request.client_ip)
    if codes is None:
        factor = container().mfa.store.get_factor(current.uid, fid)
        if not factor or not factor.get("pending"):
            return _page(current, status=400, error="That setup expired. Start again with “Set up authenticator app”.",
                         resume=resume)
        secret = container().mfa.sealer.unseal(factor["seed"], f"{current.uid}/{fid}")
        from idp.signon.mfa.totp import provisioning_uri

        uri = provisioning_uri(secret, account=current.user.get("email") or current.user["username"], issuer=container().mfa.issuer)
        body = render("account_totp.html", csrf=current.session.csrf, factor_id=fid, secret=secret, qr=_qr_data_uri(uri),
                      resume=resume, error="That code is not valid. Enter the code your authenticator app shows now.")
        return html(401, body)
    renewed = container().signon.renew_session(current, [OTP])  # the code just proved the new factor
    return _page(renewed, notice="Authenticator app added.", recovery_codes=codes or None, resume=resume,
                 cookies=[session_cookie(renewed.session_id)])


def recovery_regenerate(request: WebRequest) -> Response:
    """POST /account/recovery: ten new recovery codes (the old ones stop working), shown once."""
    current, refused = _guard_post(request)
    if refused:
        return refused
    if not container().mfa.has_factor(current.uid):
        return _page(current, status=400, error="Set up an authenticator app or a passkey first.")
    codes = container().mfa.regenerate_recovery(current.uid)
    return _page(current, notice="New recovery codes: the old ones no longer work.", recovery_codes=codes)


def factor_rename(request: WebRequest, fid: str) -> Response:
    current, refused = _guard_post(request)
    if refused:
        return refused
    if not container().mfa.rename(current.uid, fid, request.form.get("name") or ""):
        return _page(current, status=400, error="Give the passkey a name (and pick one of yours).")
    return _page(current, notice="Renamed.")


def factor_remove(request: WebRequest, fid: str) -> Response:
    current, refused = _guard_post(request)
    if refused:
        return refused
    if not container().mfa.remove(current.uid, fid):
        return _page(current, status=404, error="No such sign-in method.")
    return _page(current, notice="Removed.")


#: The account page's words for a current password the login flow did not accept (its ShowForm reason).
_CURRENT_PASSWORD = {"missing_credentials": (400, "Enter your current password."),
                     "wrong_credentials": (401, "Your current password is not right."),
                     "throttled": (429, "Too many wrong passwords.")}


def _new_password_refused(current: SignedIn, exc: DomainError) -> Response:
    """The account page again, the refusal (a rule of the password policy, by name) beside the new password's field."""
    return _page(current, status=exc.status, password_error=exc.message.replace("field 'password'", "The new password"))


def password_change(request: WebRequest) -> Response:
    """POST /account/password: the new password first (its refusal is the same whatever the current one), then the
    current one, throttled and counted like a login's password (a wrong one is a failed sign-in); done, every other
    session of the user ends. The change is the user's own in the audit log (their id, address, user agent)."""
    from idp.kernel.audit import Actor
    from idp.signon.login import ShowForm
    from idp.web.pages import wait_words
    from idp.web.session_cookies import DEVICE, read

    current = _current(request)
    if current is None:
        return redirect("/login")
    if not session_form_ok(request, current):
        return _csrf_failed()
    form, signon = request.form, container().signon
    own = container().directory.acting_as(Actor("user", current.uid), request.client_ip, request.headers.get("user-agent"))
    new_password = form.get("new_password") or ""
    try:
        own.check_new_password(new_password, current.user)  # the password policy, the user's own names included
    except DomainError as exc:
        return _new_password_refused(current, exc)
    checked = signon.confirm_password(current, form.get("current_password") or "", client=request.client_ip,
                                      device=read(request, DEVICE), user_agent=request.headers.get("user-agent"))
    if isinstance(checked, ShowForm):
        status, error = _CURRENT_PASSWORD[checked.reason]
        refused = _page(current, status=status, error=error + (f" Try again in {wait_words(checked.retry_after)}."
                                                               if checked.retry_after else ""))
        if checked.retry_after:
            refused.headers["Retry-After"] = str(checked.retry_after)
        return refused
    try:
        own.update_user(current.uid, {"password": new_password})
    except DomainError as exc:
        return _new_password_refused(current, exc)
    # The change ended every session of the user (the epoch moved on); this browser gets a fresh one.
    renewed = signon.renew_session(current, [], password_typed=True)
    return _page(renewed, notice="Password changed. You were signed out everywhere else.",
                 cookies=[session_cookie(renewed.session_id)])


def resume(request: WebRequest) -> Response:
    """POST /account/resume: after enrolling, go on to the app the sign-in was for. Only a sign-in that an
    enrolment paused, for this user, resumes here; any other pending login (a login form's, whose request may
    say ForceAuthn) goes on through its login form, password first."""
    from idp.web import sso_routes

    current = _current(request)
    if current is None:
        return redirect("/login")
    if not session_form_ok(request, current):
        return _csrf_failed()
    browser, _cookies = browser_binding(request)
    signon = container().signon
    lid = request.form.get("resume")
    state = signon.resumable(lid, browser, current.uid)
    if state is None:
        if signon.login_form(lid, browser) is not None:  # a sign-in of this browser that no enrolment paused
            return redirect(f"/login?state={quote(lid)}")
        return redirect("/", [clear(RESUME)])
    signon.store.delete_login(state.login_id)
    done = [clear(RESUME)]
    slug = state.pending.slug
    if not slug:
        return redirect(state.pending.resume_path, done)
    return sso_routes.resume(slug, current, state.pending, request, done)
