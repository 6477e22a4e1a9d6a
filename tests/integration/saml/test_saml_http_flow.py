"""SSO over HTTP against the local stack (python -m idp_local), python3-saml as a strict SP.

The SP side is python3-saml with strict=True, wantAssertionsSigned, wantMessagesSigned,
rejectDeprecatedAlgorithm and wantNameId; it trusts the certificate from our metadata.
"""

from __future__ import annotations

import base64
import re
from urllib.parse import urlsplit

import pytest
import requests
from onelogin.saml2.idp_metadata_parser import OneLogin_Saml2_IdPMetadataParser
from onelogin.saml2.xml_utils import OneLogin_Saml2_XML

from idp_testing.saml_browser import Browser, no_saml_response, parse_post_form
from idp_testing.saml_sp import (
    StackSp,
    sp_key,
    sp_post_login,
)

pytestmark = pytest.mark.e2e


@pytest.fixture
def setup(idp_stack, admin):
    """A fresh OfficeSpace-template app with one bound user (and one unbound user)."""
    app = admin.app(label="OfficeSpace Test", default_relay_state="/floorplans")
    user = admin.user(firstname="Ada", lastname="Lovelace", displayname="Ada L.")
    admin.bind_user(app["slug"], user["id"])
    return app, user


def _login_via(browser, start, user):
    """Follow to the login page and sign in; returns the final response."""
    assert start.status_code == 200 and 'name="csrf"' in start.text, (start.status_code, start.text[:500])
    assert urlsplit(start.url).path == "/login"
    return browser.login(start, user["username"], user["password"])


def _check_identity(resp, user, app):
    assert resp.get_nameid() == user["email"]
    attrs = resp.get_attributes()
    assert attrs["email"] == [user["email"]]
    assert attrs["first_name"] == ["Ada"]
    assert attrs["last_name"] == [user["lastname"]]
    assert attrs["name"] == ["Ada L."]
    assert re.fullmatch(r"_[0-9a-f]{40}", resp.get_session_index())


def test_sp_initiated_redirect_binding(idp_stack, setup):
    app, user = setup
    sp = StackSp(idp_stack, app)
    b = Browser(idp_stack.base_url)
    req_id, url = sp.redirect_login(relay_state="https://x.example/path?a=1&b=2")
    page = b.get(url)
    assert any(r.status_code == 302 for r in page.history)
    done = _login_via(b, page, user)
    assert done.status_code == 200
    form = parse_post_form(done.text)
    resp = sp.accepts(form, req_id)
    _check_identity(resp, user, app)
    assert form.relay_state == "https://x.example/path?a=1&b=2"
    first_index = resp.get_session_index()

    # A second SP-initiated login reuses the IdP session: no login form, same SessionIndex.
    req_id2, url2 = sp.redirect_login(relay_state=None)
    again = b.get(url2)
    assert again.status_code == 200 and not again.history
    resp2 = sp.accepts(parse_post_form(again.text), req_id2)
    assert resp2.get_session_index() == first_index
    # A response is bound to its request: it does not validate against the first request's ID
    assert "InResponseTo" in sp.rejects(parse_post_form(again.text), req_id)


def test_sp_initiated_post_binding_signed_request(idp_stack, admin):
    kp = sp_key("http-post")
    app = admin.app(sp_certificate=kp.certificate_pem)
    user = admin.user()
    admin.bind_user(app["slug"], user["id"])
    sp = StackSp(idp_stack, app, sp_keypair=kp)
    md = requests.get(app["metadata_url"], timeout=10).text
    assert 'WantAuthnRequestsSigned="true"' in md
    req_id, b64 = sp_post_login(sp.settings, sp_keypair=kp)
    b = Browser(idp_stack.base_url)
    page = b.post(sp.sso_url, data={"SAMLRequest": b64, "RelayState": "rs-post"})
    done = _login_via(b, page, user)
    form = parse_post_form(done.text)
    resp = sp.accepts(form, req_id)
    assert resp.get_nameid() == user["email"] and form.relay_state == "rs-post"
    assert resp.get_session_index()

    # Signed Redirect binding on the same app works too; an unsigned one is refused.
    req_id3, url3 = sp.redirect_login()
    ok = b.get(url3)
    sp.accepts(parse_post_form(ok.text), req_id3)
    unsigned = StackSp(idp_stack, app)
    _rid, url4 = unsigned.redirect_login()
    bad = b.get(url4)
    assert bad.status_code == 400 and "signature_required" in bad.text and no_saml_response(bad)


def test_idp_initiated(idp_stack, setup):
    app, user = setup
    sp = StackSp(idp_stack, app)
    b = Browser(idp_stack.base_url)
    page = b.get(f"/saml2/{app['slug']}")
    done = _login_via(b, page, user)
    form = parse_post_form(done.text)
    resp = sp.accepts(form, None)
    _check_identity(resp, user, app)
    assert form.relay_state == "/floorplans"  # the app's default RelayState
    xml = base64.b64decode(form.saml_response)
    assert b"InResponseTo" not in xml
    # a RelayState in the query is not taken on IdP-initiated SSO
    again = b.get(f"/saml2/{app['slug']}?RelayState=https://evil.example/")
    assert parse_post_form(again.text).relay_state == "/floorplans"
    # POST without SAMLRequest is IdP-initiated too
    posted = b.post(f"/saml2/{app['slug']}", data={})
    sp.accepts(parse_post_form(posted.text), None)


def test_metadata_and_certificate_endpoints(idp_stack, setup):
    app, _user = setup
    r = requests.get(app["metadata_url"], timeout=10)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/samlmetadata+xml")
    assert not isinstance(OneLogin_Saml2_XML.validate_xml(r.content, "saml-schema-metadata-2.0.xsd"), str)
    idp = OneLogin_Saml2_IdPMetadataParser.parse(r.text)["idp"]
    assert idp["entityId"] == app["idp_entity_id"]
    assert idp["singleSignOnService"]["url"] == app["sso_url"]
    c = requests.get(app["certificate_url"], timeout=10)
    assert c.status_code == 200
    assert c.headers["content-disposition"] == 'attachment; filename="certificate.pem"'
    assert c.text.startswith("-----BEGIN CERTIFICATE-----")
    from idp.saml.keys import certificate_body, certificate_info

    assert certificate_body(c.text) == idp["x509cert"]
    assert certificate_info(c.text)["fingerprint_sha256"] == app["certificate_fingerprint_sha256"]
    for path in ("/saml2/no-such-app/metadata", "/saml2/no-such-app/certificate.pem"):
        r = requests.get(idp_stack.base_url + path, timeout=10)
        assert r.status_code == 404 and "unknown_app" in r.text and "no-such-app" in r.text


def test_cookie_flags_fresh_session_and_logout(idp_stack, setup):
    app, user = setup
    b = Browser(idp_stack.base_url)
    page = b.get("/login")
    pre = b.cookie("__Host-idp_session")
    done = b.login(page, user["username"], user["password"])
    assert done.status_code == 200 and urlsplit(done.url).path == "/"
    raw = [c for c in b.set_cookies() if c.startswith("__Host-idp_session=")]
    assert raw, b.set_cookies()
    flags = raw[-1].split(";")
    assert {"Secure", "HttpOnly", "SameSite=None"} <= {f.strip() for f in flags}
    sid1 = b.cookie("__Host-idp_session")
    assert sid1 and sid1 != pre
    # signing in again (e.g. ForceAuthn) issues a new session id
    page = b.get("/login?state=unknown")
    assert urlsplit(page.url).path == "/"  # already signed in: portal
    # portal lists the app with an SSO launch link and a logout form
    assert f'href="/saml2/{app["slug"]}"' in page.text and "OfficeSpace Test" in page.text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    # logout without the token is refused and keeps the session
    r = b.post("/logout", data={})
    assert r.status_code == 403 and "csrf_failed" in r.text and b.cookie("__Host-idp_session") == sid1
    r = b.post("/logout", data={"csrf": csrf})
    assert r.status_code == 200 and "You have signed out" in r.text
    assert not b.cookie("__Host-idp_session")
    # SSO now needs the login form again
    page = b.get(f"/saml2/{app['slug']}")
    assert urlsplit(page.url).path == "/login" and no_saml_response(page)


def test_force_authn_requires_login_again(idp_stack, setup):
    app, user = setup
    sp = StackSp(idp_stack, app)
    b = Browser(idp_stack.base_url)
    _login_via(b, b.get("/login"), user)
    sid1 = b.cookie("__Host-idp_session")
    req_id, url = sp.redirect_login(force_authn=True)
    page = b.get(url)
    assert urlsplit(page.url).path == "/login" and no_saml_response(page)
    done = b.login(page, user["username"], user["password"])
    sp.accepts(parse_post_form(done.text), req_id)
    assert b.cookie("__Host-idp_session") != sid1


def test_is_passive_without_session_answers_no_passive(idp_stack, setup):
    app, _user = setup
    sp = StackSp(idp_stack, app)
    b = Browser(idp_stack.base_url)
    req_id, url = sp.redirect_login(is_passive=True)
    page = b.get(url)
    form = parse_post_form(page.text)
    assert form is not None and form.action == sp.acs_url
    xml = base64.b64decode(form.saml_response)
    assert b"urn:oasis:names:tc:SAML:2.0:status:NoPassive" in xml and b"<saml:Assertion" not in xml
    assert "was Responder -> The user is not signed in" in sp.rejects(form, req_id)


def test_portal_lists_only_accessible_apps_and_bookmarks(idp_stack, admin):
    user = admin.user()
    grp = admin.group()
    admin.add_member(grp["id"], user["id"])
    via_group = admin.app(label="Via Group")
    bookmark = admin.app(label="Bookmark App", bookmark_url="https://wiki.example.test/home")
    admin.app(label="Hidden App")
    admin.bind_group(via_group["slug"], grp["id"])
    admin.bind_user(bookmark["slug"], user["id"])
    b = Browser(idp_stack.base_url)
    r = b.login(b.get("/"), user["username"], user["password"])
    assert urlsplit(r.url).path == "/"
    assert "Via Group" in r.text and f'href="/saml2/{via_group["slug"]}"' in r.text
    assert 'href="https://wiki.example.test/home"' in r.text
    assert "Hidden App" not in r.text
    # and the group-bound app really signs in
    sp = StackSp(idp_stack, via_group)
    sp.accepts(parse_post_form(b.get(f"/saml2/{via_group['slug']}").text), None)


def test_full_local_stack_serves_saml_pages(local_stack):
    """`python -m idp_local` itself (not the reduced stack) serves the login page and metadata."""
    from idp_testing.saml_browser import public_routes_problem

    assert public_routes_problem(local_stack) is None
    r = requests.get(local_stack.base_url + "/saml2/no-such-app/metadata", timeout=10)
    assert r.status_code == 404 and "unknown_app" in r.text
