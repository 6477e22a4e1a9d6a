"""Issue 11 (account, session and SAML hardening) through the Lambda resolver on moto: nobody is locked
out from another address, sessions can be revoked, cookies carry the __Host- prefix, Single Logout
needs the session's NameID and SessionIndex, inconsistent requests are refused, and the SP gets a
SAML status where it asked for one (checked by python3-saml and pysaml2 as strict SPs)."""

from __future__ import annotations

import base64
from urllib.parse import unquote_plus, urlsplit

import pytest
from lxml import etree
from onelogin.saml2.auth import OneLogin_Saml2_Auth
from onelogin.saml2.logout_response import OneLogin_Saml2_Logout_Response

from idp import bootstrap
from idp.kernel.tokens import hash_token
from idp.saml import constants as C
from idp_testing.lambda_client import LambdaClient, admin_caller, form_login
from idp_testing.saml_browser import parse_inputs, parse_post_form
from idp_testing.saml_sp import authn_request_xml, now_saml, redirect_query, sp_key, sp_rejects, sp_settings

SESSION, DEVICE = "__Host-idp_session", "__Host-idp_device"
OPEN_ACS = "https://open.example.com/acs"
OPEN_SLO = "https://open.example.com/slo"
NS = {"samlp": C.NS_SAMLP, "saml": C.NS_SAML}


@pytest.fixture
def world(env, monkeypatch):
    """``env`` (the signed-request app officespace and ada), the default throttle numbers, an admin API,
    and an app ``open`` that takes unsigned requests (as many SPs send them) with an SP SLO URL."""
    monkeypatch.delenv("IDP_LOGIN_IP_MAX_FAILURES", raising=False)
    bootstrap.reset()
    from idp.web.admin_routes import router as admin_router

    admin = admin_caller(admin_router)

    env.admin = admin
    env.open = bootstrap.container().apps.create({"slug": "open", "label": "Open", "template": "custom",
                                                  "sp_entity_id": "open.example.com", "acs_urls": [OPEN_ACS]})
    bootstrap.container().directory.bind_user("open", env.user["id"], bind=True)
    env.open_sp = sp_settings(env.open["signing_keys"][0]["certificate_pem"], sp_entity_id="open.example.com",
                              acs_url=OPEN_ACS, idp_entity_id="https://idp.example.com/saml2/open",
                              sso_url="https://idp.example.com/saml2/open", slo_url="https://idp.example.com/saml2/open/slo")
    return env


def _signed_in(world, ip="127.0.0.1") -> LambdaClient:
    c = LambdaClient(world.resolver, ip=ip)
    r = form_login(c, c.request("GET", "/login"))
    assert r.status == 200 and r.path == "/" and SESSION in c.jar, r.text[:300]
    return c


def _portal_ok(c: LambdaClient) -> bool:
    return c.request("GET", "/", follow=False).status == 200


def _open_request(req_id, **kw) -> str:
    kw.setdefault("issuer", "open.example.com")
    kw.setdefault("acs_url", OPEN_ACS)
    kw.setdefault("destination", "https://idp.example.com/saml2/open")
    return authn_request_xml(req_id=req_id, **kw)


# ---------------------------------------------------------------------------- 1. nobody is locked out


def test_an_outsider_cannot_lock_the_user_out_from_another_address(world):
    own = _signed_in(world, ip="127.0.0.1")  # the user's browser has signed in before: it holds a device cookie
    assert DEVICE in own.jar
    own.request("POST", "/logout", form={"csrf": parse_inputs(own.request("GET", "/").text)["csrf"]})
    assert SESSION not in own.jar and DEVICE in own.jar  # signing out keeps the device cookie

    attacker = LambdaClient(world.resolver, ip="127.0.0.2")
    page = attacker.request("GET", "/login")
    statuses = {form_login(attacker, page, username=name, password="guess").status
                for name in ("ada", "ADA", "ada@example.com") for _ in range(10)}
    assert statuses == {401, 429}  # wrong, then throttled for this address
    for i in range(3, 30):  # and from many other addresses: the account is throttled for unknown browsers
        bot = LambdaClient(world.resolver, ip=f"127.0.0.{i}")
        form_login(bot, bot.request("GET", "/login"), password="guess")

    r = form_login(own, own.request("GET", "/login"))  # the right password, from the user's own browser
    assert r.status == 200 and r.path == "/" and SESSION in own.jar

    stranger = LambdaClient(world.resolver, ip="127.0.0.1")  # a browser that never signed in: told how long to wait
    r = form_login(stranger, stranger.request("GET", "/login"))
    assert r.status == 429 and SESSION not in stranger.jar
    assert "Try again in" in r.text and int(r.headers["retry-after"]) > 0
    assert 'name="csrf"' in r.text  # the form is shown again, ready for when the wait is over


# ---------------------------------------------------------------------------- 2. sessions can be revoked


def test_revoke_password_change_and_suspension_end_every_session(world):
    uid = world.user["id"]
    browsers = [_signed_in(world), _signed_in(world, ip="127.0.0.9")]
    assert world.admin("POST", f"/admin/users/{uid}/sessions/revoke") == (204, None)
    assert not any(_portal_ok(b) for b in browsers)
    assert world.admin("POST", "/admin/users/no-such-user/sessions/revoke")[0] == 404

    b = _signed_in(world)
    assert world.admin("PATCH", f"/admin/users/{uid}", {"password": "An0ther-Passw0rd!"})[0] == 200
    assert not _portal_ok(b)

    c = LambdaClient(world.resolver)
    assert form_login(c, c.request("GET", "/login"), password="An0ther-Passw0rd!").path == "/"
    assert world.admin("PATCH", f"/admin/users/{uid}", {"state": "SUSPENDED"})[0] == 200
    assert world.admin("PATCH", f"/admin/users/{uid}", {"state": "ACTIVE"})[0] == 200
    assert not _portal_ok(c)  # an unsuspended user's old cookie does not work again


def test_the_idle_refresh_does_not_resurrect_a_deleted_session(aws_env):
    from idp.adapters.signon_state import SignonState
    from idp.signon.policy import SignonPolicy

    now = [2_000_000_000]
    st = SignonState(bootstrap.container().table, policy=SignonPolicy(), clock=lambda: now[0])
    sid, _ = st.create_session("u-1")
    now[0] += 120  # due for a touch
    real_get = st.table.get_item

    def get_then_logout(**kw):  # a logout lands between the read and the touch
        out = real_get(**kw)
        st.table.delete_item(Key=kw["Key"])
        return out

    st.table.get_item = get_then_logout
    assert st.get_session(sid) is None
    st.table.get_item = real_get
    key = {"pk": f"SESSION#{hash_token(sid)}", "sk": "SESSION"}
    assert st.get_session(sid) is None and st.table.get_item(Key=key).get("Item") is None


# ---------------------------------------------------------------------------- 4. __Host- cookies


def test_cookies_carry_the_host_prefix(world):
    c = _signed_in(world)
    cookies = {raw.split("=", 1)[0]: {p.strip() for p in raw.split(";")[1:]} for raw in c.set_cookie_headers}
    assert {"__Host-idp_session", "__Host-idp_browser", "__Host-idp_device"} <= cookies.keys()
    assert not {"idp_session", "idp_browser"} & cookies.keys()
    for flags in cookies.values():
        assert {"Secure", "Path=/"} <= flags and not any(f.lower().startswith("domain") for f in flags)


# ---------------------------------------------------------------------------- 5. single logout


def _session_index(world, c) -> str:
    form = parse_post_form(c.request("GET", "/saml2/open").text)  # IdP-initiated: the SessionIndex the SP learns
    return etree.fromstring(base64.b64decode(form.saml_response)).find(".//saml:AuthnStatement", NS).get("SessionIndex")


def _logout_url(world, **kw) -> str:
    rd = {"https": "on", "http_host": "open.example.com", "script_name": "/slo", "get_data": {}, "post_data": {}}
    return OneLogin_Saml2_Auth(rd, world.open_sp).logout(return_to="/bye", **kw)


def _get(c, url, **kw):
    u = urlsplit(url)
    return c.request("GET", u.path, u.query, **kw)


def test_a_cross_site_forged_logout_request_leaves_the_session_alive(world):
    c = _signed_in(world)
    index = _session_index(world, c)
    no_nameid = ('<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" '
                 'xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_forged1" Version="2.0" '
                 f'IssueInstant="{now_saml()}" '
                 'Destination="https://idp.example.com/saml2/open/slo"><saml:Issuer>open.example.com</saml:Issuer>'
                 '</samlp:LogoutRequest>')
    forged = [
        "/saml2/open/slo?" + redirect_query(no_nameid),  # no NameID at all
        _logout_url(world, name_id="ada@example.com", name_id_format=C.NAMEID_EMAIL),  # no SessionIndex
        _logout_url(world, name_id="ada@example.com", session_index="_guessed"),
        _logout_url(world, name_id="eve@example.com", session_index=index),
    ]
    for url in forged:
        r = _get(c, url)
        assert r.status >= 400 and "signed out" not in r.text.lower(), (url, r.status, r.text[:300])
        assert _portal_ok(c), url  # the session is alive

    url = _logout_url(world, name_id="ada@example.com", session_index=index)
    r = _get(c, url)
    assert r.status == 200 and SESSION not in c.jar and not _portal_ok(c)
    c2 = _signed_in(world)
    r = _get(c2, url)  # the same LogoutRequest again: refused, and this session lives on
    assert r.status == 400 and "replayed" in r.text and _portal_ok(c2)


def test_a_logout_response_says_so_when_no_session_ended(world):
    bootstrap.container().apps.update("open", {"sp_slo_url": OPEN_SLO})
    c = _signed_in(world)
    index = _session_index(world, c)
    cases = [(_logout_url(world, name_id="ada@example.com", session_index="_not_it"), C.STATUS_REQUESTER, True),
             (_logout_url(world, name_id="ada@example.com", session_index=index), C.STATUS_SUCCESS, False),
             (_logout_url(world, name_id="ada@example.com", session_index=index), C.STATUS_RESPONDER, False)]
    for url, status, alive in cases:
        r = _get(c, url, follow=False)
        assert r.status == 302 and r.headers["location"].startswith(OPEN_SLO + "?")
        query = urlsplit(r.headers["location"]).query
        get_data = dict(p.split("=", 1) for p in query.split("&"))
        lr = OneLogin_Saml2_Logout_Response(world.open_sp, unquote_plus(get_data["SAMLResponse"]))
        assert lr.get_status() == status, (url, lr.get_status())
        assert _portal_ok(c) is alive


# ---------------------------------------------------------------------------- 6. inconsistent requests


def test_inconsistent_requests_are_refused_naming_the_problem(world):
    c = _signed_in(world)
    query = redirect_query(_open_request("_both"))
    body = {"SAMLRequest": query.split("=", 1)[1]}
    for path in ("/saml2/open", "/saml2/open/slo"):
        r = c.request("POST", path, raw_query=query, form=body, follow=False)
        assert r.status == 400 and "inconsistent_request" in r.text and "SAMLResponse" not in r.text, path
        assert "query string and the body" in r.text
    signed = redirect_query(_open_request("_half"), sp_keypair=sp_key("lambda"))
    for drop in ("Signature", "SigAlg"):
        half = "&".join(p for p in signed.split("&") if not p.startswith(drop + "="))
        r = c.request("GET", "/saml2/open", raw_query=half, follow=False)
        assert r.status == 400 and "inconsistent_request" in r.text and drop in r.text


# ---------------------------------------------------------------------------- 7. answers in SAML


def _status_answer(c, xml, req_id, sp) -> tuple[str, str | None, str]:
    r = c.request("GET", "/saml2/open", raw_query=redirect_query(xml), follow=False)
    form = parse_post_form(r.text)
    assert r.status == 200 and form is not None and form.action == OPEN_ACS, (r.status, r.text[:400])
    root = etree.fromstring(base64.b64decode(form.saml_response))
    assert root.find("saml:Assertion", NS) is None and root.get("InResponseTo") == req_id
    sub = root.find("samlp:Status/samlp:StatusCode/samlp:StatusCode", NS)
    error = sp_rejects(sp, form.saml_response, req_id, acs_url=OPEN_ACS)  # a strict SP parses it and reports it
    return root.find("samlp:Status/samlp:StatusCode", NS).get("Value"), sub.get("Value") if sub is not None else None, error


def test_passive_requests_answered_in_saml(world):
    c = LambdaClient(world.resolver)
    code, sub, error = _status_answer(c, _open_request("_p1", is_passive=True), "_p1", world.open_sp)
    assert (code, sub) == (C.STATUS_RESPONDER, C.STATUS_NO_PASSIVE) and "was Responder" in error
    c = _signed_in(world)
    bootstrap.container().directory.bind_user("open", world.user["id"], bind=False)
    code, sub, error = _status_answer(c, _open_request("_p2", is_passive=True), "_p2", world.open_sp)
    assert (code, sub) == (C.STATUS_RESPONDER, C.STATUS_REQUEST_DENIED) and "was Responder" in error
    r = c.request("GET", "/saml2/open", raw_query=redirect_query(_open_request("_p3")), follow=False)
    assert r.status == 403 and "access_denied" in r.text  # not passive: the user is shown why


@pytest.mark.parametrize("signed_in", [False, True])
def test_requests_the_idp_cannot_satisfy_get_a_saml_status(world, signed_in):
    c = _signed_in(world) if signed_in else LambdaClient(world.resolver)
    code, sub, _ = _status_answer(c, _open_request("_n1", nameid_format=C.NAMEID_PERSISTENT), "_n1", world.open_sp)
    assert (code, sub) == (C.STATUS_REQUESTER, C.STATUS_INVALID_NAMEID_POLICY)
    mfa = ('<samlp:RequestedAuthnContext Comparison="exact"><saml:AuthnContextClassRef>https://refeds.org/profile/mfa'
           '</saml:AuthnContextClassRef></samlp:RequestedAuthnContext>')
    if signed_in:  # the user has no second factor (issue 13: MFA; with one, the request gets a step-up)
        code, sub, _ = _status_answer(c, _open_request("_n2", body_extra=mfa), "_n2", world.open_sp)
        assert (code, sub) == (C.STATUS_RESPONDER, C.STATUS_NO_AUTHN_CONTEXT)
    else:  # who signs in (and whether they have a factor) is known only after the login
        r = c.request("GET", "/saml2/open", raw_query=redirect_query(_open_request("_n2", body_extra=mfa)), follow=False)
        assert r.status == 302 and "/login" in r.headers["location"]
    ppt = mfa.replace("https://refeds.org/profile/mfa", C.AC_PASSWORD_PROTECTED_TRANSPORT).replace("exact", "minimum")
    r = c.request("GET", "/saml2/open", raw_query=redirect_query(_open_request("_n3", body_extra=ppt)), follow=False)
    assert (r.status == 200 and "<saml:Assertion" in base64.b64decode(parse_post_form(r.text).saml_response).decode()
            if signed_in else r.status == 302 and "/login" in r.headers["location"])
