"""The sign-on cookies: ``idp_session`` (the IdP session id) and ``idp_browser`` (binds a pending
login and its CSRF token to one browser). Both ``Path=/; Secure; HttpOnly; SameSite=None``, since
POST-binding SPs are cross-site; the local stack on a LAN address over http may ask for Lax."""
from __future__ import annotations

from aws_lambda_powertools.shared.cookies import Cookie, SameSite

from idp.bootstrap import container
from idp.kernel.tokens import new_token
from idp.web.request import WebRequest

SESSION_COOKIE = "idp_session"
BROWSER_COOKIE = "idp_browser"


def cookie(name: str, value: str, max_age: int | None = None) -> Cookie:
    # SameSite=None (POST-binding SPs are cross-site) requires Secure. Browsers drop Secure cookies on
    # plain-http origins other than localhost, so the local stack served on a LAN address sets
    # IDP_INSECURE_COOKIES=1 and falls back to Lax; the deployed template never sets it.
    if container().settings.idp_insecure_cookies:
        return Cookie(name, value, path="/", secure=False, http_only=True, max_age=max_age, same_site=SameSite.LAX_MODE)
    return Cookie(name, value, path="/", secure=True, http_only=True, max_age=max_age, same_site=SameSite.NONE_MODE)


def clear(name: str) -> Cookie:
    return cookie(name, "", max_age=0)


def session_cookie(session_id: str) -> Cookie:
    return cookie(SESSION_COOKIE, session_id, max_age=container().signon.session_lifetime)


def browser_binding(request: WebRequest) -> tuple[str, list[Cookie]]:
    """The browser's binding token, and the cookie to set when it has none yet (a new token)."""
    token = request.cookies.get(BROWSER_COOKIE)
    if token and 20 <= len(token) <= 128:
        return token, []
    token = new_token()
    return token, [cookie(BROWSER_COOKIE, token)]
