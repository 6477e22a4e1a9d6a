"""Passkeys over HTTP (contract section 7): registration on the account page (POST
/account/passkeys/options, then POST /account/passkeys with the browser's answer), and sign-in (POST
/login/passkey/options, then POST /login/passkey), as the second step of a login or passwordless
("Sign in with a passkey": the discoverable credential names the user; a user-verified passkey is
MFA). Options go out as JSON for the browser's ``parse*OptionsFromJSON``; the ceremony script is the
product's one static file, /static/webauthn.js."""
from __future__ import annotations

import json
from pathlib import Path

from aws_lambda_powertools.event_handler import Response

from idp.bootstrap import container
from idp.kernel.tokens import hash_token, same
from idp.signon.login import LoginSubmission
from idp.signon.mfa.policy import WEBAUTHN
from idp.signon.models import LoginState
from idp.web import account_routes
from idp.web.mfa_pages import passkeys_allowed
from idp.web.pages import error_page, security_headers
from idp.web.request import WebRequest
from idp.web.session_cookies import BROWSER, DEVICE, read, session_cookie, session_form_ok, session_id

SCRIPT = Path(__file__).parent / "static" / "webauthn.js"


def script() -> Response:
    """GET /static/webauthn.js."""
    return Response(status_code=200, content_type="text/javascript; charset=utf-8", body=SCRIPT.read_text(),
                    headers={**security_headers(), "Cache-Control": "public, max-age=300"})


def _json(status: int, body: dict | str) -> Response:
    return Response(status_code=status, content_type="application/json", headers=security_headers(),
                    body=body if isinstance(body, str) else json.dumps(body))


def _rp(request: WebRequest):
    from idp.signon.mfa.passkeys import relying_party  # py_webauthn loads on a passkey request only (cold start)

    return relying_party(request.base_url)


def _passkey_error():
    from idp.signon.mfa.passkeys import PasskeyError

    return PasskeyError


_OFF = {"error": "passkeys_off", "message": "your organization's sign-in policy does not allow passkeys"}


# ------------------------------------------------------------------ registration (the account page)

def registration_options(request: WebRequest) -> Response:
    current = account_routes._current(request)
    if current is None:
        return _json(401, {"error": "not_signed_in", "message": "sign in first"})
    if not session_form_ok(request, current):
        return _json(403, {"error": "csrf_failed", "message": "the form's security token is missing or expired"})
    if not account_routes.password_recent(current):
        return _json(403, {"error": "reauth_required", "message": "type your password again first: reload the account page"})
    if not account_routes.may_manage(current):
        return _json(403, {"error": "step_up_required", "message": "verify with your existing factor first"})
    if not passkeys_allowed():
        return _json(403, _OFF)
    return _json(200, container().passkeys.registration_options(_rp(request), current.user))


def register(request: WebRequest) -> Response:
    current, refused = account_routes._guard_post(request)
    if refused:
        return refused
    resume = account_routes._resume_of(request, current)
    if not passkeys_allowed():
        return account_routes._page(current, status=403, error=_OFF["message"], resume=resume)
    try:
        container().passkeys.register(_rp(request), current.uid, request.form.get("credential") or "",
                                      request.form.get("name") or "Passkey", ip=request.client_ip)
    except _passkey_error() as exc:
        return account_routes._page(current, status=400, error=f"The passkey was not added: {exc}", resume=resume)
    mfa = container().mfa
    codes = None if mfa.recovery_left(current.uid) else mfa.regenerate_recovery(current.uid, audit=False)
    renewed = container().signon.renew_session(current, [WEBAUTHN])  # the user just verified with it
    return account_routes._page(renewed, notice="Passkey added.", recovery_codes=codes, resume=resume,
                                cookies=[session_cookie(renewed.session_id)])


# ------------------------------------------------------------------ sign-in

def _login_state(request: WebRequest) -> LoginState | None:
    browser = read(request, BROWSER)
    state = container().signon.login_form(request.form.get("login"), browser) if browser else None
    if state is None or not same(request.form.get("csrf"), state.csrf):
        return None
    return state


def authentication_options(request: WebRequest) -> Response:
    state = _login_state(request)
    if state is None:
        return _json(403, {"error": "csrf_failed", "message": "the sign-in form expired; reload it"})
    if not passkeys_allowed():
        return _json(403, _OFF)
    return _json(200, container().passkeys.authentication_options(_rp(request), hash_token(state.login_id), uid=state.uid))


def authenticate(request: WebRequest) -> Response:
    """POST /login/passkey: the passkey answer; done, the login resumes like a password login."""
    from idp.web import sso_routes
    from idp.web.login_routes import render_sign_in

    state = _login_state(request)
    if state is None:
        return error_page(403, "csrf_failed", "Sign-in form expired", "Reload the sign-in page and try again.",
                          cause="passkey login csrf check failed")
    if not passkeys_allowed():
        return error_page(403, "passkeys_off", "Passkeys are turned off", _OFF["message"] + ".", cause="passkey sign-in: policy")
    wait = container().signon.store.throttle("mfa", state.uid).wait if state.uid else 0
    if wait:  # the second step's failures (codes or passkeys) hold it back, like wrong codes
        return error_page(429, "throttled", "Too many failed attempts", f"Try again in {wait} seconds.",
                          cause=f"second step throttled user={state.uid}")
    try:
        use = container().passkeys.authenticate(_rp(request), request.form.get("credential") or "", hash_token(state.login_id),
                                                expected_uid=state.uid, ip=request.client_ip)
    except _passkey_error() as exc:
        if state.uid:  # a second step's failures count on the user's MFA throttle, like wrong codes
            container().signon.store.record_failure("mfa", state.uid)
        return error_page(401, f"passkey_{exc.code}", "The passkey did not sign you in", str(exc),
                          hint="Go back and try again, or sign in another way.", cause=f"passkey refused: {exc.code}")
    amr = (*state.amr, WEBAUTHN) if state.uid else (WEBAUTHN,)
    answer = container().sign_in.with_passkey(LoginSubmission(
        login_id=state.login_id, csrf=request.form.get("csrf"), browser=read(request, BROWSER), username="", password="",
        client=request.client_ip, old_session=session_id(request), device=read(request, DEVICE)), use.uid, amr,
        client=sso_routes.client(request), base_url=request.base_url)
    return render_sign_in(answer, request)
