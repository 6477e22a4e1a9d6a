"""The stand-in's WSGI app driven in-process: SCIM mount and token, pages, ACS, sessions."""
import json
import re
from urllib.parse import urlencode

import pytest

from idp_testing.standin_idp import TestIdP, tamper, wsgi_request
from officespace_standin.scim import build_scim, snapshot
from officespace_standin.sp import SamlSP
from officespace_standin.web import SESSION_COOKIE, StandinApp

BASE = "http://127.0.0.1:3001"
ACS = f"{BASE}/users/sign_in/saml"
TOKEN = "unit-scim-token"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"


@pytest.fixture
def idp():
    return TestIdP()


@pytest.fixture
def app(idp):
    sp = SamlSP(base_url=BASE, sp_entity_id="127.0.0.1", acs_url=ACS, metadata_url="http://idp.invalid/md",
                slo_url=f"{BASE}/saml/slo")
    sp.fetch_idp_settings = idp.idp_settings
    return StandinApp(sp=sp, scim=build_scim(TOKEN), base_url=BASE)


def scim(app, method, path, body=None, token=TOKEN, query=""):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    raw = json.dumps(body).encode() if body is not None else b""
    status, hdrs, out = wsgi_request(app, method, path, query=query, body=raw, headers=headers,
                                     content_type="application/scim+json" if body is not None else "")
    return status, hdrs, (json.loads(out) if out else None)


def new_user(app, username, active=True, external_id=None, given="Alice", family="Liddell"):
    body = {"schemas": [USER], "userName": username, "name": {"givenName": given, "familyName": family},
            "emails": [{"value": username, "primary": True, "type": "work"}], "active": active}
    if external_id:
        body["externalId"] = external_id
    status, _, created = scim(app, "POST", "/scim/v2/Users", body)
    assert status == 201, created
    return created


@pytest.mark.parametrize("token", [None, "wrong-token"])
def test_scim_refuses_requests_without_the_token(app, token):
    status, headers, body = scim(app, "GET", "/scim/v2/Users", token=token)
    assert status == 401
    assert "bearer" in headers.get("www-authenticate", "").lower()
    assert "urn:ietf:params:scim:api:messages:2.0:Error" in body["schemas"]
    # Nothing was created by an unauthenticated POST either.
    status, _, _ = scim(app, "POST", "/scim/v2/Users", {"schemas": [USER], "userName": "x@example.com"}, token=token)
    assert status == 401
    assert snapshot(app.scim.storage)["users"] == []


def test_scim_is_mounted_under_scim_v2_with_absolute_locations(app):
    created = new_user(app, "alice@example.com", external_id="dir-1")
    assert created["meta"]["location"] == f"{BASE}/scim/v2/Users/{created['id']}"
    status, _, listed = scim(app, "GET", "/scim/v2/Users", query="filter=" + 'userName eq "ALICE@example.com"')
    assert status == 200 and listed["totalResults"] == 1  # userName is case-insensitive
    assert listed["Resources"][0]["externalId"] == "dir-1"
    status, _, body = scim(app, "GET", "/scim/v2/ServiceProviderConfig", token=None)
    assert status == 200 and "patch" in body


def test_snapshot_shows_users_groups_members_and_deactivation(app):
    alice = new_user(app, "alice@example.com", external_id="dir-1")
    bob = new_user(app, "bob@example.com", given="Bob", family="Builder")
    status, _, group = scim(app, "POST", "/scim/v2/Groups", {"schemas": [GROUP], "displayName": "Engineering",
                                                             "members": [{"value": alice["id"]}, {"value": bob["id"]}]})
    assert status == 201
    status, _, _ = scim(app, "PATCH", f"/scim/v2/Users/{bob['id']}", {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "active", "value": False}]})
    assert status in (200, 204)

    data = snapshot(app.scim.storage)
    by_name = {u["userName"]: u for u in data["users"]}
    assert by_name["alice@example.com"]["active"] is True
    assert by_name["alice@example.com"]["name"] == "Alice Liddell"
    assert by_name["alice@example.com"]["externalId"] == "dir-1"
    assert by_name["bob@example.com"]["active"] is False
    [eng] = data["groups"]
    assert eng["displayName"] == "Engineering" and eng["memberCount"] == 2
    assert sorted(m["name"] for m in eng["members"]) == ["alice@example.com", "bob@example.com"]

    status, _, page = wsgi_request(app, "GET", "/provisioning")
    html = page.decode()
    assert status == 200
    assert '<meta http-equiv="refresh" content="2">' in html
    assert re.search(r'data-testid="provisioning-user-row" data-username="bob@example.com" data-active="false"', html)
    assert re.search(r'data-testid="provisioning-user-row" data-username="alice@example.com" data-active="true"', html)
    assert 'data-testid="provisioning-group-row" data-group-name="Engineering" data-member-count="2"' in html
    assert group["id"] in html

    status, _, raw = wsgi_request(app, "GET", "/provisioning.json")
    assert status == 200 and json.loads(raw) == data


def test_provisioning_page_escapes_what_scim_clients_send(app):
    new_user(app, "<script>alert(1)</script>@example.com", given="<b>x</b>")
    html = wsgi_request(app, "GET", "/provisioning")[2].decode()
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;@example.com" in html
    assert "<b>x</b>" not in html


def test_home_offers_sso_and_login_redirects_to_the_idp(app, idp):
    status, _, body = wsgi_request(app, "GET", "/")
    html = body.decode()
    assert status == 200
    assert 'href="/sso/login" data-testid="sign-in-button">Sign in with SSO<' in html
    assert "OfficeSpace" in html and "local stand-in" in html
    status, headers, _ = wsgi_request(app, "GET", "/sso/login")
    assert status == 302 and headers["location"].startswith(idp.sso_url + "?SAMLRequest=")
    assert "RelayState=%2F" in headers["location"]


def post_acs(app, saml_response, relay_state=None, cookie=None):
    form = {"SAMLResponse": saml_response}
    if relay_state is not None:
        form["RelayState"] = relay_state
    headers = {"Cookie": cookie} if cookie else {}
    return wsgi_request(app, "POST", "/users/sign_in/saml", body=urlencode(form).encode(),
                        content_type="application/x-www-form-urlencoded", headers=headers)


def test_acs_shows_who_signed_in_and_sets_a_session(app, idp):
    attrs = {"email": ["alice@example.com"], "name": ["Alice <Liddell>"], "first_name": ["Alice"], "last_name": ["Liddell"]}
    saml_response = idp.response(acs_url=ACS, audience="127.0.0.1", nameid="alice@example.com", attributes=attrs,
                                 session_index="_sess-7")
    status, headers, body = post_acs(app, saml_response, relay_state="/provisioning")
    html = body.decode()
    assert status == 200, html
    assert f"{SESSION_COOKIE}=" in headers["set-cookie"] and "HttpOnly" in headers["set-cookie"]
    assert '<code data-testid="nameid">alice@example.com</code>' in html
    assert "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress" in html
    assert '<code data-testid="session-index">_sess-7</code>' in html
    assert '<code data-testid="relay-state">/provisioning</code>' in html
    assert html.count('data-testid="attribute-row"') == 4
    assert "Alice &lt;Liddell&gt;" in html and "Alice <Liddell>" not in html
    assert 'href="/provisioning" data-testid="continue-link"' in html

    cookie = headers["set-cookie"].split(";")[0]
    home = wsgi_request(app, "GET", "/", headers={"Cookie": cookie})[2].decode()
    assert '<code data-testid="nameid">alice@example.com</code>' in home
    assert 'data-testid="sign-in-button"' not in home

    status, headers, body = wsgi_request(app, "POST", "/logout", headers={"Cookie": cookie},
                                         content_type="application/x-www-form-urlencoded")
    assert status == 200 and 'data-testid="signed-out"' in body.decode()
    assert "Max-Age=0" in headers["set-cookie"]
    home = wsgi_request(app, "GET", "/", headers={"Cookie": cookie})[2].decode()
    assert 'data-testid="sign-in-button"' in home  # the old cookie no longer names a session


def test_acs_rejects_a_tampered_response_with_400_and_the_reason(app, idp):
    good = idp.response(acs_url=ACS, audience="127.0.0.1", nameid="alice@example.com")
    bad = tamper(good, "alice@example.com</saml:NameID>", "admin@example.com</saml:NameID>")
    status, headers, body = post_acs(app, bad)
    html = body.decode()
    assert status == 400
    assert "set-cookie" not in headers
    assert 'data-testid="acs-error"' in html
    assert "invalid_response" in html and "Signature validation failed" in html
    log = json.loads(wsgi_request(app, "GET", "/sign-ins.json")[2])["sign_ins"]
    assert log[0]["ok"] is False and log[0]["nameid"] is None


def test_open_redirect_relay_state_is_shown_but_not_linked(app, idp):
    saml_response = idp.response(acs_url=ACS, audience="127.0.0.1", nameid="alice@example.com")
    html = post_acs(app, saml_response, relay_state="https://evil.example/")[2].decode()
    assert '<code data-testid="relay-state">https://evil.example/</code>' in html
    assert 'data-testid="continue-link"' not in html


def test_misc_routes(app):
    assert wsgi_request(app, "GET", "/healthz")[:1] == (200,)
    assert wsgi_request(app, "GET", "/users/sign_in/saml")[0] == 405
    assert wsgi_request(app, "GET", "/nope")[0] == 404
    status, headers, body = wsgi_request(app, "GET", "/saml/metadata")
    assert status == 200 and b'entityID="127.0.0.1"' in body and ACS.encode() in body


def test_slo_button_sends_a_logout_request_and_the_signed_answer_signs_out(app, idp):
    from urllib.parse import parse_qs, urlsplit

    from lxml import etree

    from idp_testing.standin_idp import decode_redirect_request

    saml_response = idp.response(acs_url=ACS, audience="127.0.0.1", nameid="alice@example.com")
    status, headers, body = post_acs(app, saml_response)
    assert status == 200 and 'data-testid="slo-button"' in body.decode()
    cookie = headers["set-cookie"].split(";")[0]
    status, headers, _ = wsgi_request(app, "POST", "/logout", body=b"slo=1", headers={"Cookie": cookie},
                                      content_type="application/x-www-form-urlencoded")
    assert status == 302 and headers["location"].startswith(idp.slo_url + "?SAMLRequest=")
    assert "Max-Age=0" in headers["set-cookie"]  # the local session is gone already
    saml_request = parse_qs(urlsplit(headers["location"]).query)["SAMLRequest"][0]
    request_id = etree.fromstring(decode_redirect_request(saml_request)).get("ID")

    forged = idp.logout_response_query(in_response_to=request_id, destination=f"{BASE}/saml/slo", sign=False)
    assert wsgi_request(app, "GET", "/saml/slo", query=forged)[0] == 400
    answer = idp.logout_response_query(in_response_to=request_id, destination=f"{BASE}/saml/slo")
    status, _, body = wsgi_request(app, "GET", "/saml/slo", query=answer)
    assert status == 200 and 'data-testid="signed-out"' in body.decode()
    assert wsgi_request(app, "GET", "/saml/slo", query=answer)[0] == 400  # used up
