"""The sign-on cookies: the IdP session id, the browser binding of a pending login (and its CSRF
token), the device cookie (this browser signed in before; see idp.signon.devices), and the sign-in an
enrolment paused (``idp_resume``). Deployed they
are ``__Host-idp_session``, ``__Host-idp_browser`` and ``__Host-idp_device``: ``Secure; HttpOnly;
SameSite=None; Path=/`` with no Domain, so no sibling host can set or shadow them (POST-binding SPs
are cross-site, hence None). The local stack on a LAN address over http (IDP_INSECURE_COOKIES) uses
the unprefixed names with Lax, since a ``__Host-`` cookie must be Secure. The old unprefixed names
are not read when secure: a session cookie a sibling could plant is what the prefix is there to stop.
"""
from __future__ import annotations

from aws_lambda_powertools.shared.cookies import Cookie, SameSite

from idp.app.login_pages import CookieRules
from idp.bootstrap import container
from idp.kernel.tokens import new_token, same
from idp.signon.models import SignedIn
from idp.web.request import WebRequest

SESSION, BROWSER, DEVICE = "idp_session", "idp_browser", "idp_device"
RESUME = "idp_resume"  # the sign-in an enrolment paused (a login id, bound to this browser and user server-side)
HOST_PREFIX = "__Host-"


def _rules() -> CookieRules:
    return container().cookie_rules


def _insecure() -> bool:
    return _rules().insecure


def cookie_name(base: str) -> str:
    """The name a cookie has in this deployment (``__Host-`` + base, except in the insecure local fallback)."""
    return base if _insecure() else HOST_PREFIX + base


def read(request: WebRequest, base: str) -> str | None:
    """The value of this deployment's cookie ``base``, if the browser sent it."""
    return request.cookies.get(cookie_name(base))


def cookie(base: str, value: str, max_age: int | None = None) -> Cookie:
    # SameSite=None (POST-binding SPs are cross-site) requires Secure. Browsers drop Secure cookies on
    # plain-http origins other than localhost, so the local stack served on a LAN address sets
    # IDP_INSECURE_COOKIES=1 and falls back to Lax; the deployed template never sets it.
    name = cookie_name(base)
    if _insecure():
        return Cookie(name, value, path="/", secure=False, http_only=True, max_age=max_age, same_site=SameSite.LAX_MODE)
    return Cookie(name, value, path="/", secure=True, http_only=True, max_age=max_age, same_site=SameSite.NONE_MODE)


def clear(base: str) -> Cookie:
    return cookie(base, "", max_age=0)


def session_id(request: WebRequest) -> str | None:
    return read(request, SESSION)


def session_cookie(sid: str) -> Cookie:
    return cookie(SESSION, sid, max_age=_rules().session_max_age)


def device_cookie(value: str) -> Cookie:
    return cookie(DEVICE, value, max_age=_rules().device_max_age)


def resume_cookie(login_id: str) -> Cookie:
    """The paused sign-in, remembered for as long as its login state lives: the account page finds it again
    whatever way the user takes through enrolment (a cancelled setup, a reload, a step-up)."""
    return cookie(RESUME, login_id, max_age=_rules().resume_max_age)


def browser_binding(request: WebRequest) -> tuple[str, list[Cookie]]:
    """The browser's binding token, and the cookie to set when it has none yet (a new token)."""
    token = read(request, BROWSER)
    if token and 20 <= len(token) <= 128:
        return token, []
    token = new_token()
    return token, [cookie(BROWSER, token)]


def session_form_ok(request: WebRequest, current: SignedIn) -> bool:
    """Whether a form posted from a signed-in page (the account pages, passkeys, the console) carries its session's
    CSRF token: the one check every session form makes (a pending login's form checks its login state's instead)."""
    return same(request.form.get("csrf"), current.session.csrf)
