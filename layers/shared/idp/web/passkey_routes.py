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

from idp.app.account import FactorAdded, MethodOff, PasskeyRefused
from idp.app.passkey_sign_in import FormExpired, PasskeyFailed, PasskeySignIn, Throttled
from idp.bootstrap import container
from idp.signon.login import LoginSubmission
from idp.web import account_routes
from idp.web.pages import error_page, redirect, security_headers
from idp.web.request import WebRequest
from idp.web.session_cookies import BROWSER, DEVICE, read, session_form_ok, session_id

SCRIPT = Path(__file__).parent / "static" / "webauthn.js"


def script() -> Response:
    """GET /static/webauthn.js."""
    return Response(status_code=200, content_type="text/javascript; charset=utf-8", body=SCRIPT.read_text(),
                    headers={**security_headers(), "Cache-Control": "public, max-age=300"})


def _json(status: int, body: dict | str) -> Response:
    return Response(status_code=status, content_type="application/json", headers=security_headers(),
                    body=body if isinstance(body, str) else json.dumps(body))


_OFF = {"error": "passkeys_off", "message": "your organization's sign-in policy does not allow passkeys"}


# ------------------------------------------------------------------ registration (the account page)

def registration_options(request: WebRequest) -> Response:
    from idp.app.account import Gate

    account = account_routes.my_account()
    current = account.signed_in(session_id(request))
    if current is None:
        return _json(401, {"error": "not_signed_in", "message": "sign in first"})
    if not session_form_ok(request, current):
        return _json(403, {"error": "csrf_failed", "message": "the form's security token is missing or expired"})
    gate = account.gate(current)
    if gate is Gate.REAUTH:
        return _json(403, {"error": "reauth_required", "message": "type your password again first: reload the account page"})
    if gate is Gate.STEP_UP:
        return _json(403, {"error": "step_up_required", "message": "verify with your existing factor first"})
    options = account.passkey_options(current, base_url=request.base_url)
    if options is MethodOff.PASSKEYS:
        return _json(403, _OFF)
    assert isinstance(options, str)
    return _json(200, options)


def register(request: WebRequest) -> Response:
    current, refused = account_routes._guard_post(request)
    if refused or current is None:
        return refused or redirect("/login")
    resume = account_routes._resume_of(request, current)
    added = account_routes.my_account().add_passkey(current, request.form.get("credential") or "",
                                                    request.form.get("name") or "Passkey", base_url=request.base_url,
                                                    ip=request.client_ip)
    if added is MethodOff.PASSKEYS:
        return account_routes._page(current, status=403, error=_OFF["message"], resume=resume)
    if isinstance(added, PasskeyRefused):
        return account_routes._page(current, status=400, error=f"The passkey was not added: {added.message}", resume=resume)
    assert isinstance(added, FactorAdded)
    return account_routes._added(added, "Passkey added.", resume)


# ------------------------------------------------------------------ sign-in

def _use_case() -> PasskeySignIn:
    return container().passkey_sign_in


def authentication_options(request: WebRequest) -> Response:
    options = _use_case().options(request.form.get("login"), request.form.get("csrf"), read(request, BROWSER),
                                  base_url=request.base_url)
    if isinstance(options, FormExpired):
        return _json(403, {"error": "csrf_failed", "message": "the sign-in form expired; reload it"})
    if options is MethodOff.PASSKEYS:
        return _json(403, _OFF)
    assert isinstance(options, str)
    return _json(200, options)


def authenticate(request: WebRequest) -> Response:
    """POST /login/passkey: the passkey answer; done, the login resumes like a password login."""
    from idp.web import sso_routes
    from idp.web.login_routes import render_sign_in

    form = request.form
    answer = _use_case().verify(LoginSubmission(
        login_id=form.get("login"), csrf=form.get("csrf"), browser=read(request, BROWSER), username="", password="",
        client=request.client_ip, old_session=session_id(request), device=read(request, DEVICE)),
        form.get("credential") or "", base_url=request.base_url, client=sso_routes.client(request))
    if isinstance(answer, FormExpired):
        return error_page(403, "csrf_failed", "Sign-in form expired", "Reload the sign-in page and try again.",
                          cause="passkey login csrf check failed")
    if answer is MethodOff.PASSKEYS:
        return error_page(403, "passkeys_off", "Passkeys are turned off", _OFF["message"] + ".", cause="passkey sign-in: policy")
    if isinstance(answer, Throttled):
        return error_page(429, "throttled", "Too many failed attempts", f"Try again in {answer.wait} seconds.",
                          cause=f"second step throttled user={answer.uid}")
    if isinstance(answer, PasskeyFailed):
        return error_page(401, f"passkey_{answer.code}", "The passkey did not sign you in", answer.message,
                          hint="Go back and try again, or sign in another way.", cause=f"passkey refused: {answer.code}")
    assert not isinstance(answer, MethodOff)
    return render_sign_in(answer, request)
