"""SAML endpoints, login, portal and logout (contract section 3) as powertools Routers.

``metadata_router`` (in metadata_routes.py, re-exported): GET /saml2/<slug>/metadata, certificate.pem
``login_router``:    GET|POST /saml2/<slug> (SSO), GET|POST /saml2/<slug>/slo (Single Logout),
                     GET|POST /login, POST /logout, GET / (portal)

Every refusal is a 4xx HTML page that names the problem, plus a log line with the cause;
a SAMLResponse is only ever sent to a registered ACS URL of the app.
"""

from __future__ import annotations

import functools
from datetime import datetime, timezone
from urllib.parse import quote

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.shared.cookies import Cookie, SameSite

from idp.adapters.signon_state import SamlState
from idp.bootstrap import container
from idp.kernel.tokens import hash_token, new_token, same
from idp.saml import constants as C
from idp.saml.authn_request import AuthnRequest, SpPolicy, parse_post, parse_redirect, peek_issuer
from idp.saml.binding import split_raw_query
from idp.saml.errors import SamlRequestError
from idp.saml.logout import build_logout_response, build_logout_response_redirect_url, parse_logout_post, parse_logout_redirect
from idp.saml.response import ResponseParams, build_response, build_status_response
from idp.saml.signing import SigningKey
from idp.web import http
from idp.web.forms import POST_FORM_CSP, render, render_post_form
from idp.web.metadata_routes import metadata_router  # noqa: F401 - re-exported for the local app and tests
from idp.web.pages import error_page as _error
from idp.web.pages import guard as _guard
from idp.web.pages import html as _html
from idp.web.pages import security_headers as _security_headers
from idp.web.pages import unknown_app as _unknown_app

log = Logger(child=True)

login_router = Router()

SESSION_COOKIE = "idp_session"
BROWSER_COOKIE = "idp_browser"  # binds pre-auth login state (and its CSRF token) to one browser


# ---------------------------------------------------------------------------- wiring


def _store():
    return container().store


def _apps():
    return container().apps


def _state() -> SamlState:
    return container().signon_state


# ---------------------------------------------------------------------------- helpers


def _urls(slug: str, event) -> dict:
    from idp.directory.apps import app_urls

    return app_urls(slug, http.base_url(event))


def _redirect(location: str, cookies: list[Cookie] | None = None) -> Response:
    return Response(status_code=302, content_type="text/html; charset=utf-8", body="",
                    headers={**_security_headers(), "Location": location}, cookies=cookies or [])


def _cookie(name: str, value: str, max_age: int | None = None) -> Cookie:
    # SameSite=None (POST-binding SPs are cross-site) requires Secure. Browsers drop Secure cookies on
    # plain-http origins other than localhost, so the local stack served on a LAN address sets
    # IDP_INSECURE_COOKIES=1 and falls back to Lax; the deployed template never sets it.
    if container().settings.idp_insecure_cookies:
        return Cookie(name, value, path="/", secure=False, http_only=True, max_age=max_age, same_site=SameSite.LAX_MODE)
    return Cookie(name, value, path="/", secure=True, http_only=True, max_age=max_age, same_site=SameSite.NONE_MODE)


def _clear_cookie(name: str) -> Cookie:
    return _cookie(name, "", max_age=0)


def _sp_policy(app: dict, destinations: tuple[str, ...]) -> SpPolicy:
    return SpPolicy(
        sp_entity_id=app["sp_entity_id"],
        acs_urls=tuple(app.get("acs_urls") or ()),
        sp_certificate=app.get("sp_certificate") or None,
        destinations=destinations,
    )


def _signing_key(app: dict) -> SigningKey:
    from idp.directory.apps import active_key

    meta = active_key(app)
    pem = _apps().signing_key_pem(app["slug"], meta["kid"])
    return SigningKey(pem, meta["certificate_pem"], kid=f"{app['slug']}/{meta['kid']}")


def _display_name(user: dict) -> str:
    if user.get("displayname"):
        return user["displayname"]
    return " ".join(p for p in (user.get("firstname"), user.get("lastname")) if p) or user.get("username", "")


def _user_field(user: dict, field: str):
    if field == "name":
        return _display_name(user)
    return user.get(field)


def _nameid(app: dict, user: dict) -> tuple[str, str]:
    if app.get("nameid", "email") == "username":
        return user["username"], C.NAMEID_UNSPECIFIED
    return user["email"], C.NAMEID_EMAIL


def _attributes(app: dict, user: dict) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for saml_name, field in (app.get("attributes") or {}).items():
        value = _user_field(user, field)
        if value is None or value == "":
            continue
        out[saml_name] = [str(v) for v in value] if isinstance(value, list) else [str(value)]
    return out


def _query_names(raw_query: str) -> set[str]:
    try:
        return set(split_raw_query(raw_query))
    except SamlRequestError:
        return {"SAMLRequest"}  # a repeated parameter: let the parser report it


def _current(event) -> tuple[str | None, dict | None, dict | None]:
    """(session id, session item, user) for a live session of an existing, active user."""
    sid = http.cookies(event).get(SESSION_COOKIE)
    if not sid:
        return None, None, None
    session = _state().get_session(sid)
    if not session:
        return sid, None, None
    user = _store().get_user(session["uid"])
    if not user or user.get("state", "ACTIVE") != "ACTIVE":
        log.info("session ended: user %s is %s", session["uid"], "gone" if not user else user.get("state"))
        _state().delete_session(sid)
        return sid, None, None
    return sid, session, user


def _browser_binding(event) -> tuple[str, list[Cookie]]:
    token = http.cookies(event).get(BROWSER_COOKIE)
    if token and 20 <= len(token) <= 128:
        return token, []
    token = new_token()
    return token, [_cookie(BROWSER_COOKIE, token)]


def _to_login(event, pending: dict | None) -> Response:
    browser, cookies = _browser_binding(event)
    lid, _ = _state().new_login({**(pending or {}), "browser": hash_token(browser)})
    return _redirect(f"/login?state={quote(lid)}", cookies)


# ---------------------------------------------------------------------------- metadata


# ---------------------------------------------------------------------------- SSO


def _issue(app: dict, user: dict, session: dict, pending: dict, event, cookies: list[Cookie]) -> Response:
    """Answer the SP (or start IdP-initiated SSO) for a signed-in user: access check, then the form."""
    from idp.directory.access import may_use

    slug, label = app["slug"], app.get("label") or app["slug"]
    if user.get("state", "ACTIVE") != "ACTIVE":
        return _error(403, "user_suspended", "Account suspended",
                      "Your account is suspended, so you cannot sign in. Contact your administrator.",
                      cause=f"user {user['id']} suspended", cookies=cookies)
    if not may_use(_store(), slug, user["id"]):
        return _error(403, "access_denied", f"No access to {label}",
                      f"You are not allowed to use {label}. Ask an administrator to give you access.",
                      cause=f"user {user['id']} not bound to app {slug}", cookies=cookies, home=True)
    sp_initiated = pending.get("kind") == "sp"
    acs_urls = app.get("acs_urls") or []
    acs = pending.get("acs_url") if sp_initiated else (acs_urls[0] if acs_urls else None)
    if not acs or acs not in acs_urls:  # the app changed since the request was checked
        return _error(400, "acs_not_registered", "This sign-in request cannot be processed",
                      "The application's ACS URL is no longer registered.", cookies=cookies)
    relay_state = pending.get("relay_state") if sp_initiated else (app.get("default_relay_state") or None)
    urls = _urls(slug, event)
    nameid, fmt = _nameid(app, user)
    params = ResponseParams(
        idp_entity_id=urls["idp_entity_id"],
        acs_url=acs,
        sp_entity_id=app["sp_entity_id"],
        nameid=nameid,
        nameid_format=fmt,
        attributes=_attributes(app, user),
        session_index=session["session_index"],
        authn_instant=datetime.fromtimestamp(int(session["auth_instant"]), timezone.utc),
        session_not_on_or_after=datetime.fromtimestamp(int(session["absolute_expiry"]), timezone.utc),
        in_response_to=pending.get("request_id") if sp_initiated else None,
        sign=app.get("sign") or "both",
    )
    saml_response = build_response(params, _signing_key(app))
    log.info("saml response issued app=%s user=%s acs=%s sp_initiated=%s request_id=%s",
             slug, user["id"], acs, sp_initiated, pending.get("request_id"))
    return _html(200, render_post_form(acs, saml_response, relay_state), cookies=cookies, csp=POST_FORM_CSP)


def _no_passive(app: dict, req: AuthnRequest, event) -> Response:
    urls = _urls(app["slug"], event)
    saml_response = build_status_response(
        idp_entity_id=urls["idp_entity_id"], acs_url=req.acs_url, in_response_to=req.id,
        status_code=C.STATUS_RESPONDER, sub_status_code=C.STATUS_NO_PASSIVE,
        message="The user is not signed in at the identity provider", key=_signing_key(app),
    )
    log.info("saml NoPassive answered app=%s request_id=%s", app["slug"], req.id)
    return _html(200, render_post_form(req.acs_url, saml_response, req.relay_state), csp=POST_FORM_CSP)


def _sso(slug: str, event) -> Response:
    app = _store().get_app(slug)
    if not app:
        return _unknown_app(slug)
    urls = _urls(slug, event)
    sp = _sp_policy(app, (urls["sso_url"],))
    seen = functools.partial(_state().seen_request, slug)
    raw_query = http.raw_query(event)
    form = http.form(event) if event.http_method == "POST" else {}
    req: AuthnRequest | None = None
    try:
        if event.http_method == "GET" and "SAMLRequest" in _query_names(raw_query):
            req = parse_redirect(raw_query, sp, seen=seen)
        elif event.http_method == "POST" and "SAMLRequest" in form:
            req = parse_post(form, sp, seen=seen)
    except SamlRequestError as exc:
        issuer = peek_issuer(raw_query=raw_query) if event.http_method == "GET" else peek_issuer(form=form)
        log.warning("authn request refused app=%s code=%s issuer=%r ip=%s cause=%s",
                    slug, exc.code, issuer, http.client_ip(event), exc.message)
        label = app.get("label") or slug
        return _error(exc.status, exc.code, "This sign-in request cannot be processed", exc.message,
                      hint=f"Start the sign-in again from {label}. If it keeps happening, give your administrator the error code below.",
                      cause=f"app={slug} {exc.code}")

    if req is not None:
        pending = {"kind": "sp", "slug": slug, "request_id": req.id, "acs_url": req.acs_url,
                   "relay_state": req.relay_state, "force_authn": req.force_authn}
        log.info("authn request accepted app=%s request_id=%s binding=%s signed=%s force=%s passive=%s",
                 slug, req.id, req.binding, req.signed, req.force_authn, req.is_passive)
    else:
        pending = {"kind": "idp", "slug": slug}

    _sid, session, user = _current(event)
    if req is not None and req.is_passive and (session is None or req.force_authn):
        return _no_passive(app, req, event)
    if session is not None and not (req is not None and req.force_authn):
        return _issue(app, user, session, pending, event, [])
    return _to_login(event, pending)


@login_router.get("/saml2/<slug>")
@_guard
def sso_get(slug: str):
    return _sso(slug, login_router.current_event)


@login_router.post("/saml2/<slug>")
@_guard
def sso_post(slug: str):
    return _sso(slug, login_router.current_event)


# ---------------------------------------------------------------------------- login


def _login_page(status: int, lid: str, state: dict, *, error: str | None = None, username: str = "",
                cookies: list[Cookie] | None = None, notice: str | None = None) -> Response:
    pending = state.get("pending") or {}
    label = None
    if pending.get("slug"):
        app = _store().get_app(pending["slug"])
        label = (app or {}).get("label")
    body = render("login.html", action="/login", login_id=lid, csrf=state["csrf"], error=error,
                  username=username, app_label=label, notice=notice)
    return _html(status, body, cookies=cookies)


@login_router.get("/login")
@_guard
def login_get():
    event = login_router.current_event
    browser, cookies = _browser_binding(event)
    lid = http.query(event, "state")
    state = _state().get_login(lid) if lid else None
    if state and state.get("pending", {}).get("browser") == hash_token(browser) and not cookies:
        return _login_page(200, lid, state)
    _sid, session, _user = _current(event)
    if session is not None:
        return _redirect("/")
    if lid:
        log.info("login state unknown, expired or from another browser; starting a new one")
    lid, state = _state().new_login({"browser": hash_token(browser)})
    notice = "You have signed out." if http.query(event, "signed_out") else None
    return _login_page(200, lid, state, cookies=cookies, notice=notice)


def _client_key(ip: str) -> str:
    return (ip or "unknown")[:64]


@login_router.post("/login")
@_guard
def login_post():
    from idp.directory.passwords import verify_password

    event = login_router.current_event
    form = http.form(event)
    lid, csrf = form.get("login"), form.get("csrf")
    browser = http.cookies(event).get(BROWSER_COOKIE)
    state = _state().get_login(lid) if lid else None
    pending = (state or {}).get("pending") or {}
    if not state or not csrf or not browser or not same(pending.get("browser"), hash_token(browser)) or not same(csrf, state.get("csrf")):
        reason = ("no csrf token" if not csrf else "no login state" if not state else
                  "no browser cookie" if not browser else "csrf token or browser mismatch")
        return _error(403, "csrf_failed", "Sign-in form expired",
                      "The sign-in form is missing its security token, has expired, or was not sent from this site. "
                      "Reload the sign-in page and try again.",
                      cause=f"login csrf check failed: {reason}")

    username = (form.get("username") or "").strip()
    password = form.get("password") or ""
    if not username or not password:
        return _login_page(400, lid, state, error="Enter your username and password.", username=username)
    ip = _client_key(http.client_ip(event))
    user_key = username.lower()[:256]
    locked = max(_state().locked_for("user", user_key), _state().locked_for("ip", ip))
    if locked:
        minutes = max(1, (locked + 59) // 60)
        return _error(429, "locked_out", "Too many failed sign-in attempts",
                      f"Sign-in is locked after too many failed attempts. Try again in {minutes} minute{'s' if minutes != 1 else ''}.",
                      cause=f"lockout user={user_key!r} ip={ip}")

    store = _store()
    uid = store.find_user_id("username", username) or store.find_user_id("email", username)
    item = store.get_user_item(uid) if uid else None
    if not verify_password((item or {}).get("password_hash"), password):
        count = _state().record_failure("user", user_key)
        _state().record_failure("ip", ip)
        log.warning("login failed user=%r ip=%s failures=%s known=%s", user_key, ip, count, bool(item))
        return _login_page(401, lid, state, error="Wrong username or password.", username=username)

    user = store.get_user(uid)
    if not user or user.get("state", "ACTIVE") != "ACTIVE":
        return _error(403, "user_suspended", "Account suspended",
                      "Your account is suspended, so you cannot sign in. Contact your administrator.",
                      cause=f"suspended user {uid} tried to sign in")

    _state().clear_failures("user", user_key)
    _state().delete_login(lid)
    old_sid = http.cookies(event).get(SESSION_COOKIE)
    if old_sid:
        _state().delete_session(old_sid)
    sid, session = _state().create_session(uid)
    log.info("login ok user=%s ip=%s", uid, ip)
    cookies = [_cookie(SESSION_COOKIE, sid, max_age=_state().policy.session_lifetime)]

    slug = pending.get("slug")
    if slug:
        app = store.get_app(slug)
        if not app:
            return _unknown_app(slug)
        return _issue(app, user, session, pending, event, cookies)
    return _redirect("/", cookies)


# ---------------------------------------------------------------------------- logout, portal


@login_router.post("/logout")
@_guard
def logout_post():
    event = login_router.current_event
    form = http.form(event)
    sid, session, _user = _current(event)
    if session is not None and not same(form.get("csrf"), session.get("csrf")):
        return _error(403, "csrf_failed", "Sign-out form expired",
                      "The sign-out request is missing its security token. Use the Sign out button on your portal.",
                      cause="logout csrf check failed", home=True)
    if sid:
        _state().delete_session(sid)
    return _redirect("/login?signed_out=1", [_clear_cookie(SESSION_COOKIE)])


@login_router.get("/")
@_guard
def portal():
    from idp.directory.access import apps_for_user

    event = login_router.current_event
    _sid, session, user = _current(event)
    if session is None:
        return _redirect("/login")
    entries = []
    for slug in apps_for_user(_store(), user["id"]):
        app = _store().get_app(slug)
        if not app:
            continue
        bookmark = app.get("bookmark_url")
        entries.append({"slug": slug, "label": app.get("label") or slug,
                        "url": bookmark or f"/saml2/{slug}", "bookmark": bool(bookmark)})
    entries.sort(key=lambda e: e["label"].lower())
    body = render("portal.html", apps=entries, user_label=f"{_display_name(user)} ({user.get('email')})",
                  csrf=session["csrf"], logout_action="/logout")
    return _html(200, body)


# ---------------------------------------------------------------------------- single logout


def _slo(slug: str, event) -> Response:
    app = _store().get_app(slug)
    if not app:
        return _unknown_app(slug)
    urls = _urls(slug, event)
    sp = _sp_policy(app, (urls["slo_url"], urls["sso_url"]))
    raw_query = http.raw_query(event)
    form = http.form(event) if event.http_method == "POST" else {}
    try:
        if event.http_method == "GET" and "SAMLRequest" in _query_names(raw_query):
            req = parse_logout_redirect(raw_query, sp)
        elif event.http_method == "POST" and "SAMLRequest" in form:
            req = parse_logout_post(form, sp)
        else:
            raise SamlRequestError("malformed", "expected a LogoutRequest (SAMLRequest parameter)")
    except SamlRequestError as exc:
        log.warning("logout request refused app=%s code=%s ip=%s cause=%s", slug, exc.code, http.client_ip(event), exc.message)
        return _error(exc.status, exc.code, "This sign-out request cannot be processed", exc.message,
                      cause=f"app={slug} {exc.code}")

    sid, session, user = _current(event)
    ended = False
    if session is not None:
        nameid, _fmt = _nameid(app, user)
        if req.nameid is None or req.nameid == nameid:
            _state().delete_session(sid)
            ended = True
    log.info("logout request app=%s request_id=%s session_ended=%s", slug, req.id, ended)
    cookies = [_clear_cookie(SESSION_COOKIE)] if ended else []
    slo_url = app.get("sp_slo_url")
    if not slo_url:
        body = render("signed_out.html", message=f"You have been signed out of this identity provider "
                      f"(requested by {app.get('label') or slug}).", login_url="/login")
        return _html(200, body, cookies=cookies)
    key = _signing_key(app)
    if req.binding == C.BINDING_REDIRECT:
        url = build_logout_response_redirect_url(idp_entity_id=urls["idp_entity_id"], destination=slo_url,
                                                 in_response_to=req.id, key=key, relay_state=req.relay_state)
        return _redirect(url, cookies)
    b64 = build_logout_response(idp_entity_id=urls["idp_entity_id"], destination=slo_url, in_response_to=req.id, key=key)
    return _html(200, render_post_form(slo_url, b64, req.relay_state), cookies=cookies, csp=POST_FORM_CSP)


@login_router.get("/saml2/<slug>/slo")
@_guard
def slo_get(slug: str):
    return _slo(slug, login_router.current_event)


@login_router.post("/saml2/<slug>/slo")
@_guard
def slo_post(slug: str):
    return _slo(slug, login_router.current_event)
