"""AuthnRequest decoding and checks (Redirect and POST bindings)."""

from __future__ import annotations

import base64
import zlib
from datetime import datetime, timedelta, timezone
from urllib.parse import quote

import pytest
from onelogin.saml2.constants import OneLogin_Saml2_Constants as OC

from idp.saml import constants as C
from idp.saml.authn_request import SpPolicy, parse_authn_request, parse_post, parse_redirect, peek_issuer
from idp.saml.errors import SamlRequestError
from idp_testing.saml_sp import (
    ACS_URL,
    ACS_URL_2,
    SP_ENTITY_ID,
    SSO_URL,
    authn_request_xml,
    deflate_b64,
    idp_key,
    now_saml,
    post_form,
    query_params,
    redirect_query,
    sp_key,
    sp_post_login,
    sp_redirect_login,
    sp_settings,
)

UNSIGNED_SP = SpPolicy(sp_entity_id=SP_ENTITY_ID, acs_urls=(ACS_URL, ACS_URL_2), destinations=(SSO_URL,))


def signed_sp(name="sp") -> SpPolicy:
    return SpPolicy(
        sp_entity_id=SP_ENTITY_ID,
        acs_urls=(ACS_URL, ACS_URL_2),
        sp_certificate=sp_key(name).certificate_pem,
        destinations=(SSO_URL,),
    )


def err(fn, *a, **kw) -> SamlRequestError:
    with pytest.raises(SamlRequestError) as ei:
        fn(*a, **kw)
    assert 400 <= ei.value.status < 500
    return ei.value


# ----------------------------------------------------------------------------- happy paths


def test_python3_saml_redirect_unsigned():
    s = sp_settings(idp_key().certificate_pem)
    req_id, query = sp_redirect_login(s, relay_state="/dashboard")
    req = parse_redirect(query, UNSIGNED_SP)
    assert req.id == req_id
    assert req.issuer == SP_ENTITY_ID
    assert req.acs_url == ACS_URL
    assert req.relay_state == "/dashboard"
    assert req.binding == C.BINDING_REDIRECT
    assert not req.signed and not req.force_authn and not req.is_passive
    assert req.nameid_policy_format == C.NAMEID_EMAIL
    assert req.destination == SSO_URL


def test_python3_saml_redirect_signed_verified_over_raw_query():
    kp = sp_key()
    s = sp_settings(idp_key().certificate_pem, sp_keypair=kp, authn_requests_signed=True)
    req_id, query = sp_redirect_login(s, relay_state="https://acme.officespacesoftware.com/a b?x=1&y=ü", force_authn=True)
    assert "Signature=" in query and "SigAlg=" in query
    req = parse_redirect(query, signed_sp())
    assert req.id == req_id and req.signed and req.force_authn
    assert req.relay_state == "https://acme.officespacesoftware.com/a b?x=1&y=ü"


def test_redirect_signature_over_raw_octets_not_reencoded():
    """A signature over lowercase percent-escapes (as ADFS sends) verifies as received;
    re-encoding the same values (uppercase escapes) would break it."""
    import xmlsec
    from onelogin.saml2.utils import OneLogin_Saml2_Utils

    kp = sp_key()
    value = deflate_b64(authn_request_xml())
    lower = lambda v: quote(v, safe="").replace("%2B", "%2b").replace("%2F", "%2f").replace("%3D", "%3d").replace("%3A", "%3a")
    signed = f"SAMLRequest={lower(value)}&SigAlg={lower(OC.RSA_SHA256)}"
    assert "%3a" in signed
    sig = quote(base64.b64encode(OneLogin_Saml2_Utils.sign_binary(signed, kp.private_key_pem, xmlsec.Transform.RSA_SHA256)).decode(), safe="")
    assert parse_redirect(signed + "&Signature=" + sig, signed_sp()).signed
    upper = f"SAMLRequest={quote(value, safe='')}&SigAlg={quote(OC.RSA_SHA256, safe='')}"
    assert upper != signed
    assert err(parse_redirect, upper + "&Signature=" + sig, signed_sp()).code == "bad_signature"


def test_python3_saml_post_unsigned_and_signed():
    kp = sp_key()
    s = sp_settings(idp_key().certificate_pem, sp_keypair=kp)
    req_id, b64 = sp_post_login(s)
    req = parse_post({"SAMLRequest": b64, "RelayState": "rs"}, UNSIGNED_SP)
    assert req.id == req_id and not req.signed and req.relay_state == "rs"
    assert req.binding == C.BINDING_POST
    req_id, b64 = sp_post_login(s, sp_keypair=kp, is_passive=True)
    req = parse_post({"SAMLRequest": b64}, signed_sp())
    assert req.id == req_id and req.signed and req.is_passive


def test_dispatch_by_binding_name():
    q = redirect_query(authn_request_xml())
    assert parse_authn_request("redirect", UNSIGNED_SP, raw_query=q).binding == C.BINDING_REDIRECT
    form = post_form(authn_request_xml())
    assert parse_authn_request(C.BINDING_POST, UNSIGNED_SP, form=form).binding == C.BINDING_POST
    with pytest.raises(ValueError, match="unknown binding 'soap'"):
        parse_authn_request("soap", UNSIGNED_SP)


def test_acs_default_is_first_registered_and_index_selects():
    req = parse_redirect(redirect_query(authn_request_xml(acs_url=None)), UNSIGNED_SP)
    assert req.acs_url == ACS_URL
    req = parse_redirect(redirect_query(authn_request_xml(acs_url=None, acs_index="1")), UNSIGNED_SP)
    assert req.acs_url == ACS_URL_2
    req = parse_redirect(redirect_query(authn_request_xml(acs_url=ACS_URL_2)), UNSIGNED_SP)
    assert req.acs_url == ACS_URL_2


def test_force_authn_is_passive_flags():
    req = parse_redirect(redirect_query(authn_request_xml(force_authn=True, is_passive=True)), UNSIGNED_SP)
    assert req.force_authn and req.is_passive


def test_injectable_clock_and_seen_callback():
    seen_ids = []

    def seen(i):
        hit = i in seen_ids
        seen_ids.append(i)
        return hit

    instant = "2031-05-05T10:00:00Z"
    now = datetime(2031, 5, 5, 10, 4, 0, tzinfo=timezone.utc)
    q = redirect_query(authn_request_xml(instant=instant, req_id="_abc"))
    req = parse_redirect(q, UNSIGNED_SP, now=now, seen=seen)
    assert req.issue_instant == datetime(2031, 5, 5, 10, 0, tzinfo=timezone.utc)
    assert seen_ids == ["_abc"]
    e = err(parse_redirect, q, UNSIGNED_SP, now=now, seen=seen)
    assert e.code == "replayed" and "_abc" in e.message


def test_peek_issuer():
    assert peek_issuer(raw_query=redirect_query(authn_request_xml(issuer="x.example"))) == "x.example"
    assert peek_issuer(raw_query="SAMLRequest=%%%") is None


# ----------------------------------------------------------------------------- negatives


def test_unknown_sp_issuer():
    e = err(parse_redirect, redirect_query(authn_request_xml(issuer="evil.example.com")), UNSIGNED_SP)
    assert e.code == "unknown_sp" and "evil.example.com" in e.message
    e = err(parse_post, post_form(authn_request_xml(issuer="evil.example.com")), UNSIGNED_SP)
    assert e.code == "unknown_sp"


def test_missing_issuer_is_unknown_sp():
    xml = authn_request_xml().replace(f"<saml:Issuer>{SP_ENTITY_ID}</saml:Issuer>", "")
    assert err(parse_redirect, redirect_query(xml), UNSIGNED_SP).code == "unknown_sp"


@pytest.mark.parametrize("acs", [
    "https://evil.example.com/users/sign_in/saml",
    ACS_URL + "/../steal",
    ACS_URL + "x",
    ACS_URL.upper(),
    ACS_URL + "?next=1",
])
def test_acs_not_registered_exact_match_only(acs):
    e = err(parse_redirect, redirect_query(authn_request_xml(acs_url=acs)), UNSIGNED_SP)
    assert e.code == "acs_not_registered"


def test_acs_index_out_of_range():
    e = err(parse_redirect, redirect_query(authn_request_xml(acs_url=None, acs_index="7")), UNSIGNED_SP)
    assert e.code == "acs_not_registered"


def test_acs_url_and_index_together_malformed():
    e = err(parse_redirect, redirect_query(authn_request_xml(acs_index="0")), UNSIGNED_SP)
    assert e.code == "malformed"


def test_signed_acs_not_registered_still_refused():
    kp = sp_key()
    q = redirect_query(authn_request_xml(acs_url="https://evil.example.com/acs"), sp_keypair=kp)
    assert err(parse_redirect, q, signed_sp()).code == "acs_not_registered"


def test_signature_required_when_app_has_sp_certificate():
    assert err(parse_redirect, redirect_query(authn_request_xml()), signed_sp()).code == "signature_required"
    assert err(parse_post, post_form(authn_request_xml()), signed_sp()).code == "signature_required"
    s = sp_settings(idp_key().certificate_pem)
    _, q = sp_redirect_login(s)
    assert err(parse_redirect, q, signed_sp()).code == "signature_required"


def test_bad_signature_wrong_key_redirect_and_post():
    other = sp_key("intruder")
    q = redirect_query(authn_request_xml(), relay_state="r", sp_keypair=other)
    assert err(parse_redirect, q, signed_sp()).code == "bad_signature"
    assert err(parse_post, post_form(authn_request_xml(), sp_keypair=other), signed_sp()).code == "bad_signature"


def test_bad_signature_tampered_relay_state_redirect():
    q = redirect_query(authn_request_xml(), relay_state="good", sp_keypair=sp_key())
    assert parse_redirect(q, signed_sp()).relay_state == "good"
    bad = q.replace("RelayState=good", "RelayState=evil")
    assert err(parse_redirect, bad, signed_sp()).code == "bad_signature"


def test_bad_signature_tampered_post_acs():
    from onelogin.saml2.utils import OneLogin_Saml2_Utils

    kp = sp_key()
    signed = OneLogin_Saml2_Utils.add_sign(authn_request_xml(acs_url=ACS_URL), kp.private_key_pem, kp.certificate_pem,
                                           sign_algorithm=OC.RSA_SHA256, digest_algorithm=OC.SHA256)
    signed = signed.decode() if isinstance(signed, bytes) else signed
    tampered = signed.replace(ACS_URL, ACS_URL_2)
    form = {"SAMLRequest": base64.b64encode(tampered.encode()).decode()}
    assert err(parse_post, form, signed_sp()).code == "bad_signature"


def test_post_signature_reference_must_point_at_root():
    """Signature wrapping: a valid signature over some other element does not count."""
    from onelogin.saml2.utils import OneLogin_Saml2_Utils

    kp = sp_key()
    signed = OneLogin_Saml2_Utils.add_sign(authn_request_xml(req_id="_orig"), kp.private_key_pem, kp.certificate_pem,
                                           sign_algorithm=OC.RSA_SHA256, digest_algorithm=OC.SHA256)
    signed = signed.decode() if isinstance(signed, bytes) else signed
    # Change the root ID: the Reference no longer points at the root
    wrapped = signed.replace('ID="_orig"', 'ID="_other"', 1)
    form = {"SAMLRequest": base64.b64encode(wrapped.encode()).decode()}
    e = err(parse_post, form, signed_sp())
    assert e.code == "bad_signature" and "Reference" in e.message


@pytest.mark.parametrize("binding", ["redirect", "post"])
def test_sha1_signatures_refused(binding):
    kp = sp_key()
    if binding == "redirect":
        q = redirect_query(authn_request_xml(), sp_keypair=kp, sig_alg=OC.RSA_SHA1)
        e = err(parse_redirect, q, signed_sp())
    else:
        form = post_form(authn_request_xml(), sp_keypair=kp, sign_algorithm=OC.RSA_SHA1, digest_algorithm=OC.SHA1)
        e = err(parse_post, form, signed_sp())
    assert e.code == "bad_signature" and "SHA-1" in e.message


def test_sha512_accepted():
    q = redirect_query(authn_request_xml(), sp_keypair=sp_key(), sig_alg=OC.RSA_SHA512)
    assert parse_redirect(q, signed_sp()).signed


def test_signature_ignored_when_app_has_no_certificate():
    q = redirect_query(authn_request_xml(), sp_keypair=sp_key("intruder"))
    assert parse_redirect(q, UNSIGNED_SP).signed is False


@pytest.mark.parametrize("delta", [timedelta(minutes=-6), timedelta(minutes=6), timedelta(days=-1)])
def test_expired_or_future_issue_instant(delta):
    now = datetime(2031, 5, 5, 10, 0, 0, tzinfo=timezone.utc)
    q = redirect_query(authn_request_xml(instant=now_saml(now + delta)))
    e = err(parse_redirect, q, UNSIGNED_SP, now=now)
    assert e.code == "expired"


def test_within_skew_accepted():
    now = datetime(2031, 5, 5, 10, 0, 0, tzinfo=timezone.utc)
    for d in (timedelta(minutes=-4, seconds=-59), timedelta(minutes=4, seconds=59)):
        parse_redirect(redirect_query(authn_request_xml(instant=now_saml(now + d))), UNSIGNED_SP, now=now)


def test_replayed():
    q = redirect_query(authn_request_xml(req_id="_dup"))
    e = err(parse_redirect, q, UNSIGNED_SP, seen=lambda rid: rid == "_dup")
    assert e.code == "replayed"


def test_replay_check_not_called_for_rejected_requests():
    calls = []
    q = redirect_query(authn_request_xml(issuer="nope"))
    assert err(parse_redirect, q, UNSIGNED_SP, seen=lambda rid: calls.append(rid) or False).code == "unknown_sp"
    assert calls == []


def test_relay_state_too_long():
    q = redirect_query(authn_request_xml(), relay_state="x" * 81)
    assert err(parse_redirect, q, UNSIGNED_SP).code == "relay_state_too_long"
    form = post_form(authn_request_xml(), relay_state="é" * 41)  # 82 bytes
    assert err(parse_post, form, UNSIGNED_SP).code == "relay_state_too_long"
    parse_redirect(redirect_query(authn_request_xml(), relay_state="x" * 80), UNSIGNED_SP)


def test_wrong_destination():
    q = redirect_query(authn_request_xml(destination="https://other-idp.example.com/sso"))
    assert err(parse_redirect, q, UNSIGNED_SP).code == "wrong_destination"


def test_unsupported_protocol_binding():
    q = redirect_query(authn_request_xml(protocol_binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Artifact"))
    assert err(parse_redirect, q, UNSIGNED_SP).code == "unsupported_binding"


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_x" Version="2.0" IssueInstant="2030-01-01T00:00:00Z"><saml:Issuer xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion">&lol3;</saml:Issuer></samlp:AuthnRequest>"""

XXE = """<?xml version="1.0"?><!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_x" Version="2.0" IssueInstant="2030-01-01T00:00:00Z"><saml:Issuer xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion">&xxe;</saml:Issuer></samlp:AuthnRequest>"""


@pytest.mark.parametrize("payload", [BILLION_LAUGHS, XXE])
def test_xml_bomb_and_doctype_malformed(payload):
    e = err(parse_redirect, redirect_query(payload), UNSIGNED_SP)
    assert e.code == "malformed" and "DOCTYPE" in e.message
    e = err(parse_post, post_form(payload), UNSIGNED_SP)
    assert e.code == "malformed"


def test_deflate_bomb_malformed():
    bomb = zlib.compressobj(9, zlib.DEFLATED, -15)
    data = bomb.compress(b"<" + b"a" * 50_000_000) + bomb.flush()
    assert len(data) < 100_000
    e = err(parse_redirect, redirect_query(b"", encoded=base64.b64encode(data).decode()), UNSIGNED_SP)
    assert e.code == "malformed" and "inflates to more than" in e.message


@pytest.mark.parametrize("query", [
    "",
    "RelayState=x",
    "SAMLRequest=",
    "SAMLRequest=!!!notbase64",
    "SAMLRequest=" + quote(base64.b64encode(b"plainly not deflated").decode(), safe=""),
    "SAMLRequest=" + quote(deflate_b64("<not-closed"), safe=""),
    "SAMLRequest=" + quote(deflate_b64("<foo/>"), safe=""),
    "SAMLRequest=" + quote(deflate_b64('<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"/>'), safe=""),
    "SAMLRequest=a&SAMLRequest=b",
])
def test_malformed_redirect(query):
    assert err(parse_redirect, query, UNSIGNED_SP).code == "malformed"


def test_malformed_truncated_and_trailing_deflate():
    raw = base64.b64decode(deflate_b64(authn_request_xml()))
    for bad in (raw[:-5], raw + b"trailing"):
        q = "SAMLRequest=" + quote(base64.b64encode(bad).decode(), safe="")
        assert err(parse_redirect, q, UNSIGNED_SP).code == "malformed"


@pytest.mark.parametrize("xml", [
    authn_request_xml(version="1.1"),
    authn_request_xml(req_id="123-starts-with-digit"),
    authn_request_xml(instant="yesterday"),
    authn_request_xml(force_authn=True).replace('ForceAuthn="true"', 'ForceAuthn="maybe"'),
    authn_request_xml(body_extra="<samlp:Bogus/>"),
])
def test_malformed_content(xml):
    assert err(parse_redirect, redirect_query(xml), UNSIGNED_SP).code == "malformed"


def test_malformed_post():
    assert err(parse_post, {}, UNSIGNED_SP).code == "malformed"
    assert err(parse_post, {"SAMLRequest": "%%%"}, UNSIGNED_SP).code == "malformed"
    assert err(parse_post, {"SAMLRequest": "A" * 200_001}, UNSIGNED_SP).code == "malformed"


def test_two_signatures_refused():
    from onelogin.saml2.utils import OneLogin_Saml2_Utils

    kp = sp_key()
    signed = OneLogin_Saml2_Utils.add_sign(authn_request_xml(), kp.private_key_pem, kp.certificate_pem,
                                           sign_algorithm=OC.RSA_SHA256, digest_algorithm=OC.SHA256)
    signed = signed.decode() if isinstance(signed, bytes) else signed
    start = signed.index("<ds:Signature")
    end = signed.index("</ds:Signature>") + len("</ds:Signature>")
    doubled = signed[:end] + signed[start:end] + signed[end:]
    form = {"SAMLRequest": base64.b64encode(doubled.encode()).decode()}
    e = err(parse_post, form, signed_sp())
    # The schema allows one ds:Signature after the Issuer: the second is refused before any signature check.
    assert e.code == "malformed" and "protocol schema" in e.message and "Signature" in e.message


def test_error_carries_status_400():
    e = err(parse_redirect, "", UNSIGNED_SP)
    assert e.status == 400 and str(e).startswith("malformed:")


def test_query_params_helper_sanity():
    # the raw query built by our helper decodes to the values python3-saml would read
    q = redirect_query(authn_request_xml(), relay_state="a&b=c")
    assert query_params(q)["RelayState"] == "a&b=c"
    assert parse_redirect(q, UNSIGNED_SP).relay_state == "a&b=c"


# ----------------------------------------------------------------------------- inconsistent requests (issue 11, item 6)


@pytest.mark.parametrize("drop", ["Signature", "SigAlg"])
def test_redirect_with_only_one_of_signature_and_sigalg_is_refused(drop):
    q = redirect_query(authn_request_xml(), sp_keypair=sp_key())
    half = "&".join(p for p in q.split("&") if not p.startswith(drop + "="))
    for sp in (UNSIGNED_SP, signed_sp()):  # whether or not the app checks signatures
        e = err(parse_redirect, half, sp)
        assert e.code == "inconsistent_request" and drop in e.message


# ----------------------------------------------------------------------------- what the SP asked for (issue 11, item 7)


def test_requested_authn_context_comparison_and_decl_refs_are_read():
    ctx = ('<samlp:RequestedAuthnContext Comparison="minimum">'
           '<saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport'
           '</saml:AuthnContextClassRef></samlp:RequestedAuthnContext>')
    req = parse_redirect(redirect_query(authn_request_xml(body_extra=ctx)), UNSIGNED_SP)
    assert req.requested_authn_contexts == (C.AC_PASSWORD_PROTECTED_TRANSPORT,)
    assert req.requested_authn_comparison == "minimum" and req.requested_authn_decl_refs == ()
    decl = ('<samlp:RequestedAuthnContext><saml:AuthnContextDeclRef>urn:example:decl</saml:AuthnContextDeclRef>'
            '</samlp:RequestedAuthnContext>')
    req = parse_redirect(redirect_query(authn_request_xml(req_id="_r2", body_extra=decl)), UNSIGNED_SP)
    assert req.requested_authn_comparison == "exact" and req.requested_authn_decl_refs == ("urn:example:decl",)
    plain = parse_redirect(redirect_query(authn_request_xml(req_id="_r3", nameid_format=None)), UNSIGNED_SP)
    assert plain.requested_authn_comparison is None and plain.nameid_policy_format is None
