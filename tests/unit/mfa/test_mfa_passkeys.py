"""Passkey ceremonies, pure (py_webauthn under idp.signon.mfa.passkeys), with a software authenticator:
the RP of a deployed host and of the loopback stack, registration and authentication that hold, and the
answers that must not: another origin, another RP, no user verification, a replayed counter (a clone)."""
from __future__ import annotations

import json

import pytest

from idp.signon.mfa import passkeys
from idp.signon.mfa.passkeys import PasskeyError, relying_party
from idp_testing.soft_authenticator import SoftAuthenticator


def test_the_relying_party_is_the_idps_host_or_localhost_for_loopback():
    assert relying_party("https://idp.acme.com") == passkeys.RelyingParty("idp.acme.com", "OfficeSpace IdP", ("https://idp.acme.com",))
    local = relying_party("http://127.0.0.1:3000")
    assert local.id == "localhost" and local.origins == ("http://localhost:3000", "http://127.0.0.1:3000")
    assert relying_party("http://localhost:3000").origins == ("http://localhost:3000",)


def _registered(rp, auth):
    options, challenge = passkeys.registration_options(rp, uid="u-1", user_name="ada@example.com", display_name="Ada", exclude=[])
    opts = json.loads(options)
    assert opts["authenticatorSelection"]["residentKey"] == "required"
    assert opts["authenticatorSelection"]["userVerification"] == "required" and opts["rp"]["id"] == rp.id
    answer = auth.create(options)
    assert passkeys.challenge_of(answer) == challenge
    return passkeys.verify_registration(rp, answer, challenge=challenge)


def test_register_then_authenticate_discoverably_and_the_counter_must_grow():
    rp = relying_party("https://idp.acme.com")
    auth = SoftAuthenticator("https://idp.acme.com")
    new = _registered(rp, auth)
    assert new.user_verified and new.sign_count == 0

    options, challenge = passkeys.authentication_options(rp)  # no allow list: the authenticator names the user
    assert json.loads(options)["userVerification"] == "required" and not json.loads(options).get("allowCredentials")
    answer = auth.get(options)
    assert passkeys.credential_of(answer) == (new.credential_id, "u-1")
    count = passkeys.verify_authentication(rp, answer, challenge=challenge, public_key=new.public_key, sign_count=0)
    assert count == 1

    options, challenge = passkeys.authentication_options(rp, allow=[new.credential_id])
    cloned = auth.get(options, sign_count=1)  # a copy of the key answers with a counter already seen
    with pytest.raises(PasskeyError) as err:
        passkeys.verify_authentication(rp, cloned, challenge=challenge, public_key=new.public_key, sign_count=count)
    assert err.value.code == "possible_clone"


@pytest.mark.parametrize("case", ["phishing origin", "other rp", "no user verification", "other challenge"])
def test_answers_that_must_not_hold(case):
    rp = relying_party("https://idp.acme.com")
    auth = SoftAuthenticator("https://idp.acme.com")
    if case == "no user verification":
        auth.user_verified = False
        options, challenge = passkeys.registration_options(rp, uid="u-1", user_name="a", display_name="A", exclude=[])
        with pytest.raises(PasskeyError):
            passkeys.verify_registration(rp, auth.create(options), challenge=challenge)
        return
    new = _registered(rp, auth)
    options, challenge = passkeys.authentication_options(rp)
    if case == "phishing origin":
        answer = auth.get(options, origin="https://idp.acme.com.evil.example")
    elif case == "other challenge":
        answer, challenge = auth.get(options), passkeys.authentication_options(rp)[1]
    else:
        answer = auth.get(options)
        rp = relying_party("https://other.example.com")
    with pytest.raises(PasskeyError):
        passkeys.verify_authentication(rp, answer, challenge=challenge, public_key=new.public_key, sign_count=0)


@pytest.mark.parametrize("junk", ["", "null", "[]", '{"id": 1}', '{"id": "x", "response": {"clientDataJSON": "!!"}}'])
def test_junk_answers_are_refused_with_a_reason(junk):
    with pytest.raises(PasskeyError):
        passkeys.challenge_of(junk)
