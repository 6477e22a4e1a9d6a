"""Passkeys over the MFA store: registration on the account page (options, then the browser's answer
checked against the challenge we issued for this user), and authentication, as a second factor (the
passkey must be the signed-in user's) or passwordless (the discoverable credential names the user).
Challenges are single-use and short-lived; a sign counter that went back refuses the passkey (clone
detection). Each outcome is an ``mfa`` audit event."""
from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Callable

from idp.kernel.audit import Actor, AuditEvent, AuditSink, NullAudit
from idp.kernel.clock import now_iso
from idp.signon.mfa import passkeys
from idp.signon.mfa.passkeys import PasskeyError, RelyingParty
from idp.signon.mfa.ports import MfaStore

CHALLENGE_TTL = 5 * 60


@dataclass(frozen=True)
class PasskeyUse:
    uid: str
    factor_id: str


class PasskeyService:
    def __init__(self, store: MfaStore, *, audit: AuditSink | None = None, clock: Callable[[], float] = time.time,
                 factor_changed: Callable[[str, str, bool], None] = lambda uid, label, added: None):
        self.factor_changed = factor_changed  # as MfaService's: the user is told by email
        self.store = store
        self.audit = audit or NullAudit()
        self.clock = clock

    def _record(self, uid: str | None, action: str, *, outcome: str = "success", reason: str | None = None,
                ip: str | None = None) -> None:
        self.audit.record(AuditEvent(type="mfa", outcome=outcome, actor=Actor("user", uid) if uid else Actor("system"),
                                     user_id=uid, ip=ip, reason=reason, detail={"action": action, "method": "webauthn"}))

    def _passkeys(self, uid: str) -> list[dict]:
        return [f for f in self.store.factors(uid) if f["type"] == "webauthn"]

    # ------------------------------------------------------------------ registration

    def registration_options(self, rp: RelyingParty, user: dict) -> str:
        options, challenge = passkeys.registration_options(
            rp, uid=user["id"], user_name=user.get("email") or user["username"],
            display_name=" ".join(p for p in (user.get("firstname"), user.get("lastname")) if p) or user["username"],
            exclude=[f["credential_id"] for f in self._passkeys(user["id"])])
        self.store.put_challenge(challenge, purpose="register", bound_to=user["id"], ttl=CHALLENGE_TTL)
        return options

    def register(self, rp: RelyingParty, uid: str, credential_json: str, name: str, *, ip: str | None = None) -> dict:
        """Check the browser's answer and store the new passkey; PasskeyError when it does not hold."""
        try:
            if not self.store.take_challenge(passkeys.challenge_of(credential_json), purpose="register", bound_to=uid):
                raise PasskeyError("stale_challenge", "the passkey request expired or was already used; try again")
            challenge = passkeys.challenge_of(credential_json)
            new = passkeys.verify_registration(rp, credential_json, challenge=challenge)
        except PasskeyError as exc:
            self._record(uid, "enrol", outcome="failure", reason=exc.code, ip=ip)
            raise
        fid = "pk-" + uuid.uuid4().hex[:16]
        factor = {"id": fid, "type": "webauthn", "name": " ".join((name or "Passkey").split())[:64] or "Passkey",
                  "created_at": now_iso(), "last_used_at": None, "credential_id": new.credential_id,
                  "public_key": new.public_key, "sign_count": new.sign_count, "transports": list(new.transports)}
        self.store.put_factor(uid, factor)
        self._record(uid, "enrolled", ip=ip)
        self.factor_changed(uid, "A passkey", True)
        return factor

    # ------------------------------------------------------------------ authentication

    def authentication_options(self, rp: RelyingParty, login_binding: str, uid: str | None = None) -> str:
        """Options for a login (bound to its login state); ``uid`` (a second factor): only that user's passkeys."""
        allow = [f["credential_id"] for f in self._passkeys(uid)] if uid else None
        options, challenge = passkeys.authentication_options(rp, allow=allow)
        self.store.put_challenge(challenge, purpose="authenticate", bound_to=login_binding, ttl=CHALLENGE_TTL)
        return options

    def authenticate(self, rp: RelyingParty, credential_json: str, login_binding: str, *, expected_uid: str | None = None,
                     ip: str | None = None) -> PasskeyUse:
        """The user a passkey answer proves (user-verified), or PasskeyError."""
        uid = expected_uid
        try:
            challenge = passkeys.challenge_of(credential_json)
            if not self.store.take_challenge(challenge, purpose="authenticate", bound_to=login_binding):
                raise PasskeyError("stale_challenge", "the passkey request expired or was already used; try again")
            credential_id, handle = passkeys.credential_of(credential_json)
            uid = expected_uid or handle
            if not uid or (handle and handle != uid):
                raise PasskeyError("wrong_user", "this passkey belongs to another account")
            factor = next((f for f in self._passkeys(uid) if f["credential_id"] == credential_id), None)
            if factor is None:
                raise PasskeyError("unknown_passkey", "this passkey is not registered here (it may have been removed)")
            count = passkeys.verify_authentication(rp, credential_json, challenge=challenge, public_key=factor["public_key"],
                                                   sign_count=int(factor.get("sign_count") or 0))
            if not self.store.update_sign_count(uid, factor["id"], count, int(self.clock())):
                raise PasskeyError("possible_clone", "the passkey's sign counter went back: it may have been cloned")
        except PasskeyError as exc:
            self._record(uid, "verify", outcome="failure", reason=exc.code, ip=ip)
            raise
        self._record(uid, "verified", ip=ip)
        return PasskeyUse(uid, factor["id"])
