"""Signing-key rotation end to end, and SP-initiated Single Logout, over HTTP."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
import requests
from onelogin.saml2.auth import OneLogin_Saml2_Auth
from onelogin.saml2.idp_metadata_parser import OneLogin_Saml2_IdPMetadataParser

from idp.saml.keys import certificate_body, certificate_info
from idp_testing.saml_browser import Browser, no_saml_response, parse_post_form
from idp_testing.saml_sp import StackSp, sp_key

pytestmark = pytest.mark.e2e


def _metadata_certs(app) -> list[str]:
    md = requests.get(app["metadata_url"], timeout=10)
    assert md.status_code == 200
    idp = OneLogin_Saml2_IdPMetadataParser.parse(md.text)["idp"]
    return idp.get("x509certMulti", {}).get("signing") or [idp["x509cert"]]


def _sign_in(stack, user) -> Browser:
    b = Browser(stack.base_url)
    r = b.login(b.get("/login"), user["username"], user["password"])
    assert urlsplit(r.url).path == "/"
    return b


def _sp_login(b, sp):
    req_id, url = sp.redirect_login()
    return req_id, parse_post_form(b.get(url).text)


def test_key_rotation_end_to_end(idp_stack, admin):
    app = admin.app(label="Rotating App")
    user = admin.user()
    admin.bind_user(app["slug"], user["id"])
    b = _sign_in(idp_stack, user)

    old_certs = _metadata_certs(app)
    assert len(old_certs) == 1
    sp_old = StackSp(idp_stack, app, certs=old_certs)
    req_id, form = _sp_login(b, sp_old)
    sp_old.accepts(form, req_id)

    # 1. generate the next key: published beside the current one, downloadable with its fingerprint
    view = admin.add_key(app["slug"])
    nxt = next(k for k in view["signing_keys"] if k["status"] == "next")
    certs = _metadata_certs(app)
    assert len(certs) == 2 and certs[0] == old_certs[0]
    c = requests.get(app["certificate_url"], params={"kid": nxt["kid"]}, timeout=10)
    assert c.status_code == 200 and c.headers["content-disposition"] == 'attachment; filename="certificate.pem"'
    assert certificate_info(c.text)["fingerprint_sha256"] == nxt["fingerprint_sha256"]
    assert certificate_body(c.text) == certs[1]
    sp_new = StackSp(idp_stack, app, certs=[certificate_body(c.text)])

    # before activation: still signed with the old key
    req_id, form = _sp_login(b, sp_new)
    assert "Signature validation failed" in sp_new.rejects(form, req_id)
    sp_old.accepts(form, req_id)

    # 2. activate: an SP trusting only the new certificate accepts, one trusting only the old refuses
    admin.activate_key(app["slug"], nxt["kid"])
    req_id, form = _sp_login(b, sp_new)
    resp = sp_new.accepts(form, req_id)
    assert resp.get_nameid() == user["email"]
    assert "Signature validation failed" in sp_old.rejects(form, req_id)
    # an SP that imported the two-certificate metadata keeps working across the switch
    sp_both = StackSp(idp_stack, app, certs=certs)
    req_id, form = _sp_login(b, sp_both)
    sp_both.accepts(form, req_id)
    # IdP-initiated is signed with the new key too
    sp_new.accepts(parse_post_form(b.get(f"/saml2/{app['slug']}").text), None)
    # the default certificate download is now the new one
    assert certificate_body(requests.get(app["certificate_url"], timeout=10).text) == certs[1]
    assert admin.get_app(app["slug"])["certificate_fingerprint_sha256"] == nxt["fingerprint_sha256"]

    # 3. retire the old key: metadata publishes only the new certificate
    old_kid = next(k["kid"] for k in admin.keys(app["slug"]) if k["status"] == "previous")
    admin.retire_key(app["slug"], old_kid)
    assert _metadata_certs(app) == [certs[1]]
    r = requests.get(app["certificate_url"], params={"kid": old_kid}, timeout=10)
    assert r.status_code == 404 and "unknown_key" in r.text and old_kid in r.text
    req_id, form = _sp_login(b, sp_new)
    sp_new.accepts(form, req_id)


def test_sp_initiated_single_logout(idp_stack, admin):
    kp = sp_key("slo")
    app = admin.app(sp_certificate=kp.certificate_pem)
    user = admin.user()
    admin.bind_user(app["slug"], user["id"])
    b = _sign_in(idp_stack, user)
    sp = StackSp(idp_stack, app, sp_keypair=kp)
    req_id, form = _sp_login(b, sp)
    resp = sp.accepts(form, req_id)

    rd = {"https": "on", "http_host": urlsplit(sp.acs_url).netloc, "script_name": "/logout", "get_data": {}, "post_data": {}}
    auth = OneLogin_Saml2_Auth(rd, sp.settings)
    url = auth.logout(name_id=resp.get_nameid(), session_index=resp.get_session_index(),
                      name_id_format=resp.get_nameid_format(), return_to="/bye")
    assert url.startswith(app["sso_url"] + "/slo?")
    r = b.get(url)
    assert r.status_code == 200 and "You have signed out" in r.text
    assert not b.cookie("__Host-idp_session")
    # the IdP session is gone: SSO needs the login form again
    page = b.get(f"/saml2/{app['slug']}")
    assert urlsplit(page.url).path == "/login" and no_saml_response(page)
    # an unsigned LogoutRequest for this app (which holds an SP certificate) is refused
    unsigned = StackSp(idp_stack, app)
    auth = OneLogin_Saml2_Auth(rd, unsigned.settings)
    r = b.get(auth.logout(name_id=user["email"]))
    assert r.status_code == 400 and "signature_required" in r.text
