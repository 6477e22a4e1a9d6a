"""Passkeys (WebAuthn) with py_webauthn, pure: the relying party (RP ID = the IdP's host; a loopback
IP address, which cannot be an RP ID, is served as ``localhost``), registration and authentication
options (discoverable credentials, user verification required), and the checks of what the browser
sent back: the challenge we issued, our origin and RP ID, user verification, and the sign counter
(a counter that does not grow while either side is non-zero means a cloned authenticator)."""
from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import urlsplit

from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

_LOOPBACK = ("127.0.0.1", "::1", "[::1]", "localhost")


class PasskeyError(ValueError):
    """What the browser sent is not a valid passkey answer; ``code`` says why (``invalid``, ``possible_clone``, ...)."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class RelyingParty:
    id: str
    name: str
    origins: tuple[str, ...]


def relying_party(base_url: str, name: str = "OfficeSpace IdP") -> RelyingParty:
    """The RP of an IdP served at ``base_url``: its host, or ``localhost`` (both loopback origins accepted)."""
    parts = urlsplit(base_url)
    host, port = (parts.hostname or "localhost"), parts.port
    origin = f"{parts.scheme}://{parts.netloc}"
    if host in _LOOPBACK:
        suffix = f":{port}" if port else ""
        return RelyingParty("localhost", name, tuple(dict.fromkeys((f"{parts.scheme}://localhost{suffix}", origin))))
    return RelyingParty(host, name, (origin,))


@dataclass(frozen=True)
class NewPasskey:
    credential_id: str  # base64url
    public_key: str  # base64url COSE key
    sign_count: int
    user_verified: bool
    transports: tuple[str, ...] = ()


def registration_options(rp: RelyingParty, *, uid: str, user_name: str, display_name: str,
                         exclude: list[str]) -> tuple[str, str]:
    """(options JSON for ``PublicKeyCredential.parseCreationOptionsFromJSON``, the challenge as base64url)."""
    options = generate_registration_options(
        rp_id=rp.id, rp_name=rp.name, user_name=user_name, user_id=uid.encode(), user_display_name=display_name,
        authenticator_selection=AuthenticatorSelectionCriteria(resident_key=ResidentKeyRequirement.REQUIRED,
                                                               user_verification=UserVerificationRequirement.REQUIRED),
        exclude_credentials=[PublicKeyCredentialDescriptor(id=base64url_to_bytes(c)) for c in exclude],
    )
    return options_to_json(options), bytes_to_base64url(options.challenge)


def authentication_options(rp: RelyingParty, *, allow: list[str] | None = None) -> tuple[str, str]:
    """(options JSON for ``parseRequestOptionsFromJSON``, the challenge); no ``allow``: discoverable (no username)."""
    options = generate_authentication_options(
        rp_id=rp.id, user_verification=UserVerificationRequirement.REQUIRED,
        allow_credentials=[PublicKeyCredentialDescriptor(id=base64url_to_bytes(c)) for c in allow or []],
    )
    return options_to_json(options), bytes_to_base64url(options.challenge)


def _parsed(credential_json: str) -> dict:
    try:
        data = json.loads(credential_json)
    except (TypeError, ValueError):
        raise PasskeyError("invalid", "the passkey answer is not JSON") from None
    if not isinstance(data, dict) or not isinstance(data.get("id"), str) or not isinstance(data.get("response"), dict):
        raise PasskeyError("invalid", "the passkey answer has no credential id or response")
    return data


def challenge_of(credential_json: str) -> str:
    """The challenge the browser signed (from clientDataJSON), to find the one we issued."""
    data = _parsed(credential_json)
    try:
        client_data = json.loads(base64url_to_bytes(data["response"]["clientDataJSON"]))
        return str(client_data["challenge"])
    except (KeyError, TypeError, ValueError):
        raise PasskeyError("invalid", "the passkey answer has no readable clientDataJSON") from None


def credential_of(credential_json: str) -> tuple[str, str | None]:
    """(credential id, the user handle = our user id, when the authenticator returned one)."""
    data = _parsed(credential_json)
    handle = data["response"].get("userHandle")
    try:
        uid = base64url_to_bytes(handle).decode() if handle else None
    except (ValueError, UnicodeDecodeError):
        raise PasskeyError("invalid", "the passkey's user handle is not one of ours") from None
    return data["id"], uid


def verify_registration(rp: RelyingParty, credential_json: str, *, challenge: str) -> NewPasskey:
    _parsed(credential_json)
    try:
        verified = verify_registration_response(credential=credential_json, expected_challenge=base64url_to_bytes(challenge),
                                                expected_rp_id=rp.id, expected_origin=list(rp.origins),
                                                require_user_verification=True)
    except WebAuthnException as exc:
        raise PasskeyError("invalid", f"the passkey registration is not valid: {exc}") from None
    transports = tuple(json.loads(credential_json).get("response", {}).get("transports") or ())
    return NewPasskey(bytes_to_base64url(verified.credential_id), bytes_to_base64url(verified.credential_public_key),
                      verified.sign_count, bool(verified.user_verified), transports)


def verify_authentication(rp: RelyingParty, credential_json: str, *, challenge: str, public_key: str, sign_count: int) -> int:
    """The authenticator's new sign counter; PasskeyError ``possible_clone`` when it did not grow."""
    _parsed(credential_json)
    try:
        verified = verify_authentication_response(credential=credential_json, expected_challenge=base64url_to_bytes(challenge),
                                                  expected_rp_id=rp.id, expected_origin=list(rp.origins),
                                                  credential_public_key=base64url_to_bytes(public_key),
                                                  credential_current_sign_count=sign_count, require_user_verification=True)
    except WebAuthnException as exc:
        if "sign count" in str(exc).lower():
            raise PasskeyError("possible_clone", "the passkey's sign counter went back: it may have been cloned") from None
        raise PasskeyError("invalid", f"the passkey answer is not valid: {exc}") from None
    return verified.new_sign_count
