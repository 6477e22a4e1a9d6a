"""Bad requests over HTTP: each gets a 4xx page naming the problem and no SAMLResponse."""

from __future__ import annotations

import base64
import zlib
from datetime import datetime, timedelta, timezone
from urllib.parse import quote, urlsplit

import pytest

from idp_testing.saml_browser import Browser, no_saml_response, parse_post_form
from idp_testing.saml_sp import StackSp, authn_request_xml, now_saml, post_form, redirect_query, sp_key

pytestmark = pytest.mark.e2e


@pytest.fixture
def setup(idp_stack, admin):
    app = admin.app(label="Negative Tests App")
    user = admin.user()
    admin.bind_user(app["slug"], user["id"])
    return app, user


def _signed_in(idp_stack, user) -> Browser:
    b = Browser(idp_stack.base_url)
    r = b.login(b.get("/login"), user["username"], user["password"])
    assert urlsplit(r.url).path == "/", r.text[:300]
    return b


def _req(app, **kw) -> str:
    kw.setdefault("issuer", app["sp_entity_id"])
    kw.setdefault("acs_url", app["acs_urls"][0])
    kw.setdefault("destination", app["sso_url"])
    return authn_request_xml(**kw)


def _assert_refused(r, status, code):
    assert r.status_code == status, (r.status_code, r.text[:600])
    assert r.headers["content-type"].startswith("text/html")
    assert code in r.text, r.text[:600]
    assert no_saml_response(r)


def test_unknown_app(idp_stack, setup):
    app, user = setup
    b = _signed_in(idp_stack, user)
    r = b.get("/saml2/does-not-exist?" + redirect_query(_req(app)))
    _assert_refused(r, 404, "unknown_app")
    assert "does-not-exist" in r.text
    _assert_refused(b.get("/saml2/does-not-exist"), 404, "unknown_app")


@pytest.mark.parametrize("signed_in", [True, False])
def test_unknown_sp(idp_stack, setup, signed_in):
    app, user = setup
    b = _signed_in(idp_stack, user) if signed_in else Browser(idp_stack.base_url)
    r = b.get(f"/saml2/{app['slug']}?" + redirect_query(_req(app, issuer="intruder.example.com")))
    _assert_refused(r, 400, "unknown_sp")
    assert "intruder.example.com" in r.text


def test_acs_not_registered(idp_stack, setup):
    app, user = setup
    b = _signed_in(idp_stack, user)
    r = b.get(f"/saml2/{app['slug']}?" + redirect_query(_req(app, acs_url="https://attacker.example/acs")))
    _assert_refused(r, 400, "acs_not_registered")
    r = b.post(f"/saml2/{app['slug']}", data=post_form(_req(app, acs_url=app["acs_urls"][0] + "/x")))
    _assert_refused(r, 400, "acs_not_registered")


def test_bad_signature(idp_stack, admin):
    kp = sp_key("http-neg")
    app = admin.app(sp_certificate=kp.certificate_pem)
    user = admin.user()
    admin.bind_user(app["slug"], user["id"])
    b = _signed_in(idp_stack, user)
    other = sp_key("http-intruder")
    r = b.get(f"/saml2/{app['slug']}?" + redirect_query(_req(app), relay_state="x", sp_keypair=other))
    _assert_refused(r, 400, "bad_signature")
    r = b.post(f"/saml2/{app['slug']}", data=post_form(_req(app), sp_keypair=other))
    _assert_refused(r, 400, "bad_signature")
    # tampered RelayState under a valid signature
    q = redirect_query(_req(app), relay_state="good", sp_keypair=kp)
    r = b.get(f"/saml2/{app['slug']}?" + q.replace("RelayState=good", "RelayState=evil"))
    _assert_refused(r, 400, "bad_signature")
    # unsigned
    r = b.get(f"/saml2/{app['slug']}?" + redirect_query(_req(app)))
    _assert_refused(r, 400, "signature_required")


def test_expired(idp_stack, setup):
    app, user = setup
    b = _signed_in(idp_stack, user)
    old = now_saml(datetime.now(timezone.utc) - timedelta(minutes=10))
    r = b.get(f"/saml2/{app['slug']}?" + redirect_query(_req(app, instant=old)))
    _assert_refused(r, 400, "expired")


def test_replayed(idp_stack, setup):
    app, user = setup
    b = _signed_in(idp_stack, user)
    url = f"/saml2/{app['slug']}?" + redirect_query(_req(app, req_id="_replay" + app["slug"].replace("-", "")))
    first = b.get(url)
    assert parse_post_form(first.text) is not None
    r = b.get(url)
    _assert_refused(r, 400, "replayed")
    # also when the replay comes from another browser that is not signed in
    r = Browser(idp_stack.base_url).get(url)
    _assert_refused(r, 400, "replayed")


@pytest.mark.parametrize("query", [
    "SAMLRequest=not-base64!!",
    "SAMLRequest=" + quote(base64.b64encode(b"<samlp:AuthnRequest").decode()),
    "SAMLRequest=" + quote(base64.b64encode(zlib.compress(b"<x/>")[2:-4]).decode()),
    "SAMLRequest=a&SAMLRequest=b",
])
def test_malformed(idp_stack, setup, query):
    app, user = setup
    b = _signed_in(idp_stack, user)
    _assert_refused(b.get(f"/saml2/{app['slug']}?{query}"), 400, "malformed")


def test_malformed_xml_bomb_and_deflate_bomb(idp_stack, setup):
    app, user = setup
    b = _signed_in(idp_stack, user)
    bomb = ('<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>'
            f'<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_b" Version="2.0" IssueInstant="{now_saml()}">'
            '<saml:Issuer xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion">&b;</saml:Issuer></samlp:AuthnRequest>')
    _assert_refused(b.get(f"/saml2/{app['slug']}?" + redirect_query(bomb)), 400, "malformed")
    _assert_refused(b.post(f"/saml2/{app['slug']}", data=post_form(bomb)), 400, "malformed")
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    deflated = c.compress(b" " * 20_000_000) + c.flush()
    q = "SAMLRequest=" + quote(base64.b64encode(deflated).decode(), safe="")
    _assert_refused(b.get(f"/saml2/{app['slug']}?{q}"), 400, "malformed")


def test_relay_state_too_long(idp_stack, setup):
    app, user = setup
    b = _signed_in(idp_stack, user)
    r = b.get(f"/saml2/{app['slug']}?" + redirect_query(_req(app), relay_state="r" * 81))
    _assert_refused(r, 400, "relay_state_too_long")


def test_unauthorized_user_gets_403_naming_the_app(idp_stack, setup, admin):
    app, _bound = setup
    outsider = admin.user()
    sp = StackSp(idp_stack, app)
    b = Browser(idp_stack.base_url)
    req_id, url = sp.redirect_login()
    page = b.get(url)
    r = b.login(page, outsider["username"], outsider["password"])
    _assert_refused(r, 403, "access_denied")
    assert "Negative Tests App" in r.text and "administrator" in r.text
    # the user is signed in (portal works) but IdP-initiated is refused the same way
    _assert_refused(b.get(f"/saml2/{app['slug']}"), 403, "access_denied")


def test_suspended_user(idp_stack, setup, admin):
    app, user = setup
    sp = StackSp(idp_stack, app)
    b = _signed_in(idp_stack, user)  # has a live session
    admin.patch_user(user["id"], state="SUSPENDED")
    # the existing session no longer counts: back to the login form, no SAMLResponse
    req_id, url = sp.redirect_login()
    page = b.get(url)
    assert urlsplit(page.url).path == "/login" and no_saml_response(page)
    r = b.login(page, user["username"], user["password"])
    _assert_refused(r, 403, "user_suspended")
    # a fresh browser cannot sign in either
    b2 = Browser(idp_stack.base_url)
    r = b2.login(b2.get(f"/saml2/{app['slug']}"), user["username"], user["password"])
    _assert_refused(r, 403, "user_suspended")
    assert not b2.cookie("__Host-idp_session")


def test_missing_csrf_token(idp_stack, setup):
    app, user = setup
    b = Browser(idp_stack.base_url)
    page = b.get(f"/saml2/{app['slug']}")
    from idp_testing.saml_browser import parse_inputs

    fields = parse_inputs(page.text)
    base = {"login": fields["login"], "username": user["username"], "password": user["password"]}
    r = b.post("/login", data=base)  # no csrf
    _assert_refused(r, 403, "csrf_failed")
    r = b.post("/login", data={**base, "csrf": "forged"})
    _assert_refused(r, 403, "csrf_failed")
    # the right token from another browser (no binding cookie) is refused too
    other = Browser(idp_stack.base_url)
    r = other.post("/login", data={**base, "csrf": fields["csrf"]})
    _assert_refused(r, 403, "csrf_failed")
    assert not b.cookie("__Host-idp_session") and not other.cookie("__Host-idp_session")
    # with the token the same form works
    r = b.post("/login", data={**base, "csrf": fields["csrf"]})
    assert parse_post_form(r.text) is not None


def test_an_outsider_cannot_lock_the_user_out_from_another_address(idp_stack, setup):
    """Failures for the account from 127.0.0.2 never stop the user's own browser on 127.0.0.1 (it signed
    in before, so it holds a device cookie); the outsider is told how long to wait and gets no assertion."""
    app, user = setup
    own = Browser(idp_stack.base_url, source_ip="127.0.0.1")
    assert urlsplit(own.login(own.get("/login"), user["username"], user["password"]).url).path == "/"
    assert own.cookie("__Host-idp_device")
    own.jar.pop("__Host-idp_session")  # the session is gone (closed browser); the device cookie stays

    attacker = Browser(idp_stack.base_url, source_ip="127.0.0.2")
    page = attacker.get(f"/saml2/{app['slug']}")
    statuses = []
    for name in [user["username"], user["email"].upper()] * 8:  # one account, however it is typed
        r = attacker.login(page, name, "wrong-password")
        statuses.append(r.status_code)
        assert no_saml_response(r)
    assert statuses[:4] == [401] * 4 and statuses[-1] == 429
    r = attacker.login(page, user["username"], user["password"])  # even the right password waits, from there
    assert r.status_code == 429 and "Try again in" in r.text and int(r.headers["Retry-After"]) > 0
    assert no_saml_response(r) and not attacker.cookie("__Host-idp_session")

    sp = StackSp(idp_stack, app)
    req_id, url = sp.redirect_login()
    done = own.login(own.get(url), user["username"], user["password"])  # the user, from their own browser
    sp.accepts(parse_post_form(done.text), req_id)


def test_wrong_password_and_unknown_user_look_the_same(idp_stack, setup):
    app, user = setup
    b = Browser(idp_stack.base_url)
    page = b.get("/login")
    r1 = b.login(page, user["username"], "nope-nope")
    r2 = b.login(page, "nobody-" + user["username"], "nope-nope")
    assert r1.status_code == r2.status_code == 401
    assert "Wrong username or password" in r1.text and "Wrong username or password" in r2.text


def test_access_changes_take_effect_on_the_next_sso_of_a_live_session(idp_stack, setup, admin):
    """The SSO answer reads the session, the user and the bindings in batches of this request: an
    unbinding, a binding through a group and a suspension each count from the very next request."""
    app, user = setup
    slug = app["slug"]
    b = _signed_in(idp_stack, user)
    for _ in range(2):
        assert parse_post_form(b.get(f"/saml2/{slug}").text) is not None
    admin._ok(admin.s.delete(f"{admin.base_url}/admin/apps/{slug}/users/{user['id']}"))
    _assert_refused(b.get(f"/saml2/{slug}"), 403, "access_denied")
    group = admin.group()
    admin.add_member(group["id"], user["id"])
    admin.bind_group(slug, group["id"])
    assert parse_post_form(b.get(f"/saml2/{slug}").text) is not None  # through the group now
    admin.patch_user(user["id"], state="SUSPENDED")
    page = b.get(f"/saml2/{slug}")
    assert urlsplit(page.url).path == "/login" and no_saml_response(page)
