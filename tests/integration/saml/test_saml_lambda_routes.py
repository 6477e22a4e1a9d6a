"""The SAML routes in the Lambda resolver (API Gateway HTTP API v2 events) on moto, and the
DynamoDB-backed session / replay / throttle state with an injected clock."""

from __future__ import annotations

import base64
import random
import string
from urllib.parse import parse_qs, quote

import pytest

from idp import bootstrap
from idp.bootstrap import container
from idp_testing.lambda_client import LambdaClient, form_login
from idp_testing.saml_browser import parse_post_form
from idp_testing.saml_sp import sp_accepts, sp_post_login


def test_lambda_post_binding_with_base64_body_and_cookie_flags(env):
    c = LambdaClient(env.resolver)
    req_id, b64 = sp_post_login(env.sp, sp_keypair=env.kp)
    page = c.request("POST", "/saml2/officespace", form={"SAMLRequest": b64, "RelayState": "r1"}, b64_body=True)
    assert page.status == 200 and page.path == "/login" and "OfficeSpace" in page.text
    assert page.headers["cache-control"] == "no-store"
    done = form_login(c, page)
    assert done.status == 200
    form = parse_post_form(done.text)
    resp = sp_accepts(env.sp, form.saml_response, req_id)
    assert resp.get_nameid() == "ada@example.com" and form.relay_state == "r1"
    assert resp.get_attributes()["first_name"] == ["Ada"]
    assert "script-src 'sha256-" in done.headers["content-security-policy"]
    session_cookie = [h for h in c.set_cookie_headers if h.startswith("__Host-idp_session=")][-1]
    assert {"Secure", "HttpOnly", "SameSite=None", "Path=/"} <= {p.strip() for p in session_cookie.split(";")}


def test_insecure_cookie_fallback_only_when_asked(env, monkeypatch):
    """The local stack on a LAN address over http sets IDP_INSECURE_COOKIES=1: Lax, not Secure."""
    monkeypatch.setenv("IDP_INSECURE_COOKIES", "1")
    bootstrap.reset()  # settings are read once per process, as in Lambda
    c = LambdaClient(env.resolver)
    page = c.request("GET", "/saml2/officespace")
    assert page.status == 200 and page.path == "/login"
    done = form_login(c, page)
    assert done.status == 200
    session_cookie = [h for h in c.set_cookie_headers if h.startswith("idp_session=")][-1]
    flags = {p.strip() for p in session_cookie.split(";")}
    assert "Secure" not in flags and {"HttpOnly", "SameSite=Lax"} <= flags


def test_lambda_metadata_and_unknown_app(env):
    c = LambdaClient(env.resolver)
    r = c.request("GET", "/saml2/officespace/metadata")
    assert r.status == 200 and r.headers["content-type"] == "application/samlmetadata+xml"
    assert "WantAuthnRequestsSigned=\"true\"" in r.text and "https://idp.example.com/saml2/officespace/slo" in r.text
    r = c.request("GET", "/saml2/nope/metadata")
    assert r.status == 404 and "unknown_app" in r.text
    r = c.request("GET", "/saml2/nope")
    assert r.status == 404 and "unknown_app" in r.text


def test_address_throttle_spans_usernames_but_not_addresses_or_known_browsers(env):
    attacker = LambdaClient(env.resolver, ip="203.0.113.9")
    page = attacker.request("GET", "/login")
    for name in ("x1", "x2", "x3"):
        r = form_login(attacker, page, username=name, password="nope")
        assert r.status == 401 and "Wrong username or password" in r.text
    r = form_login(attacker, page)  # right credentials, an address throttled for browsers it has not seen sign in
    assert r.status == 429 and "Try again in" in r.text and "__Host-idp_session" not in attacker.jar
    other = LambdaClient(env.resolver, ip="198.51.100.20")
    r = form_login(other, other.request("GET", "/login"))
    assert r.status == 200 and r.path == "/" and "__Host-idp_session" in other.jar
    other.jar.pop("__Host-idp_session")
    other.ip = "203.0.113.9"  # a browser that signed in before is not held back by its address's throttle
    r = form_login(other, other.request("GET", "/login"))
    assert r.status == 200 and r.path == "/"


def test_replayed_request_refused_in_lambda(env):
    c = LambdaClient(env.resolver)
    req_id, b64 = sp_post_login(env.sp, sp_keypair=env.kp)
    assert c.request("POST", "/saml2/officespace", form={"SAMLRequest": b64}).path == "/login"
    r = c.request("POST", "/saml2/officespace", form={"SAMLRequest": b64})
    assert r.status == 400 and "replayed" in r.text and "SAMLResponse" not in r.text


def test_deleted_app_between_request_and_login(env):
    c = LambdaClient(env.resolver)
    _req_id, b64 = sp_post_login(env.sp, sp_keypair=env.kp)
    page = c.request("POST", "/saml2/officespace", form={"SAMLRequest": b64})
    env.apps.delete("officespace")
    r = form_login(c, page)
    assert r.status == 404 and "unknown_app" in r.text and "SAMLResponse" not in r.text


def test_acs_removed_between_request_and_login(env):
    c = LambdaClient(env.resolver)
    _req_id, b64 = sp_post_login(env.sp, sp_keypair=env.kp)
    page = c.request("POST", "/saml2/officespace", form={"SAMLRequest": b64})
    env.apps.update("officespace", {"acs_urls": ["https://acme.officespacesoftware.com/other"]})
    r = form_login(c, page)
    assert r.status == 400 and "acs_not_registered" in r.text and "SAMLResponse" not in r.text


JUNK = [
    "", "SAMLRequest", "SAMLRequest=", "SAMLRequest=%", "SAMLRequest=%ZZ", "SAMLRequest=" + "A" * 150_000,
    "SAMLRequest=" + quote("\u2603\x00\x01"), "SAMLRequest=AAAA&SigAlg=x&Signature=%%%",
    "SAMLRequest=" + quote(base64.b64encode(b"\x78\x9c\x03\x00").decode()), "RelayState=" + "x" * 500,
    "SAMLRequest=PHg+&RelayState=" + quote("\u00e9" * 50),
]


@pytest.mark.parametrize("path", ["/saml2/officespace", "/saml2/officespace/slo", "/login", "/", "/saml2/officespace/certificate.pem"])
def test_junk_never_5xx_and_never_a_response(env, path):
    rnd = random.Random(7)
    c = LambdaClient(env.resolver)
    payloads = list(JUNK) + ["".join(rnd.choice(string.printable) for _ in range(rnd.randint(1, 300))) for _ in range(15)]
    for q in payloads:
        r = c.request("GET", path, raw_query=q, follow=False)
        assert r.status < 500, (path, q[:80], r.status, r.text[:300])
        assert "SAMLResponse" not in r.text or path == "/saml2/officespace" and "SAMLRequest" not in q
        form = {k: v[-1] for k, v in parse_qs(q, keep_blank_values=True).items()} or {"junk": q}
        r = c.request("POST", path, form=form, follow=False)
        assert r.status < 500, (path, q[:80], r.status, r.text[:300])
        if path != "/login":
            assert r.status in (200, 302, 400, 403, 404, 405) and (r.status != 200 or "SAMLResponse" not in r.text or "SAMLRequest" not in form)
    # junk cookies are ignored
    c.jar = {"__Host-idp_session": "x" * 500, "__Host-idp_browser": "\u2603", "__Host-idp_device": "v1." + "x" * 300}
    assert c.request("GET", "/", follow=False).status == 302


def test_unsigned_post_refused_for_app_with_sp_certificate(env):
    c = LambdaClient(env.resolver)
    req_id, b64 = sp_post_login(env.sp)  # not signed
    r = c.request("POST", "/saml2/officespace", form={"SAMLRequest": b64})
    assert r.status == 400 and "signature_required" in r.text


# ---------------------------------------------------------------------------- SignonState


class Clock:
    def __init__(self, t=2_000_000_000):
        self.t = t

    def __call__(self):
        return self.t


def test_session_idle_timeout_and_absolute_lifetime(aws_env):
    from idp.adapters.signon_state import SignonState
    from idp.signon.policy import SignonPolicy

    clock = Clock()
    st = SignonState(container().table, policy=SignonPolicy(session_lifetime=8 * 3600, session_idle=3600), clock=clock)
    sid, s = st.create_session("u-1")
    assert st.get_session(sid)["uid"] == "u-1"
    clock.t += 3599
    assert st.get_session(sid) is not None  # touched: idle clock restarts
    clock.t += 3599
    assert st.get_session(sid) is not None
    clock.t += 3600
    assert st.get_session(sid) is None  # idle too long
    sid, s = st.create_session("u-1")
    for _ in range(9):  # keep it busy past the absolute lifetime
        clock.t += 3500
        got = st.get_session(sid)
    assert got is None
    sid2, _ = st.create_session("u-1")
    assert sid2 != sid and st.get_session(sid2)["session_index"] != s["session_index"]
    st.delete_session(sid2)
    assert st.get_session(sid2) is None
    assert st.get_session("x" * 200) is None and st.get_session(None) is None


def test_replay_cache_ttl(aws_env):
    from idp.adapters.signon_state import SignonState
    from idp.signon.policy import SignonPolicy

    clock = Clock()
    st = SignonState(container().table, policy=SignonPolicy(replay_ttl=900), clock=clock)
    assert st.seen_request("app", "_r1") is False
    assert st.seen_request("app", "_r1") is True
    assert st.seen_request("other", "_r1") is False  # per app
    clock.t += 901
    assert st.seen_request("app", "_r1") is False  # expired entry (moto does not enforce TTL)


def test_throttle_progressive_delay_window_and_reset(aws_env):
    from idp.adapters.signon_state import SignonState
    from idp.signon.policy import SignonPolicy, Throttle

    clock = Clock()
    policy = SignonPolicy(source_max_failures=3, failure_window=600, first_delay=30, max_delay=100)
    st = SignonState(container().table, policy=policy, clock=clock)
    assert [st.record_failure("source", "u-1#ip:a") for _ in range(2)] == [Throttle(1, 0), Throttle(2, 0)]
    assert st.throttle("source", "u-1#ip:a") == Throttle(2, 0)
    clock.t += 601  # quiet for the window: counting starts again
    assert st.record_failure("source", "u-1#ip:a") == Throttle(1, 0)
    st.record_failure("source", "u-1#ip:a")
    assert st.record_failure("source", "u-1#ip:a") == Throttle(3, 30)
    clock.t += 29
    assert st.throttle("source", "u-1#ip:a") == Throttle(3, 1)
    clock.t += 1
    assert st.record_failure("source", "u-1#ip:a") == Throttle(4, 60)
    clock.t += 60
    assert st.record_failure("source", "u-1#ip:a") == Throttle(5, 100)  # capped
    assert st.throttle("account", "u-1") == Throttle(0, 0)  # another counter
    st.clear_failures("source", "u-1#ip:a")
    assert st.throttle("source", "u-1#ip:a") == Throttle(0, 0) and st.record_failure("source", "u-1#ip:a") == Throttle(1, 0)
    # an item of the older lockout shape (same key as today's address counter) is read as forgotten, then replaced
    container().table.put_item(Item={"pk": "THROTTLE#ip#192.0.2.1", "sk": "THROTTLE", "failures": 50, "window_ends": clock.t + 900,
                                     "locked_until": clock.t + 900, "expires_at": clock.t + 1800})
    assert st.throttle("ip", "192.0.2.1") == Throttle(0, 0) and st.record_failure("ip", "192.0.2.1") == Throttle(1, 0)


def test_login_state_bound_and_expiring(aws_env):
    from idp.adapters.signon_state import SignonState
    from idp.kernel.tokens import hash_token
    from idp.signon.policy import SignonPolicy

    clock = Clock()
    st = SignonState(container().table, policy=SignonPolicy(login_state_ttl=900), clock=clock)
    lid, item = st.new_login({"kind": "idp", "slug": "a", "browser": hash_token("b")})
    got = st.get_login(lid)
    assert got["csrf"] == item["csrf"] and got["pending"]["slug"] == "a"
    clock.t += 901
    assert st.get_login(lid) is None
