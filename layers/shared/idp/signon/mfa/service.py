"""The MFA service: the policy and what a sign-in needs, TOTP enrolment (a pending factor confirmed by
its first code) and verification (replay refused atomically, throttled like passwords), recovery
codes (ten, hashed, shown once), renaming and removing factors, an administrator's reset, and an
``mfa`` audit event for each (never a code or a seed in one). Passkeys are in ``passkey_service``."""
from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Callable

from aws_lambda_powertools import Logger

from idp.kernel.audit import Actor, AuditEvent, AuditSink, NullAudit, value_changes
from idp.kernel.clock import now_iso
from idp.signon.mfa import recovery, totp
from idp.signon.mfa.policy import OTP, MfaPolicy, Need, counted, epoch_of, gate, need
from idp.signon.mfa.ports import MfaStore, SeedSealer, ThrottleCounters
from idp.signon.models import PendingSignOn
from idp.signon.policy import MFA

log = Logger(child=True)

MFA_THROTTLE = MFA  # the throttle counter kind of second-factor tries (per user)
PENDING_TTL = 15 * 60  # an authenticator app's setup is good for this long before its first code
VIEW_FIELDS = ("id", "type", "name", "created_at", "last_used_at")
CONSOLE_MFA = "required"  # the admin console's own setting, as an app's ``mfa``: never only the global policy


@dataclass(frozen=True)
class CodeCheck:
    """A second-step code: ``ok``; else ``reason`` (``missing_code``, ``wrong_code``, ``throttled``) and how long to wait."""

    ok: bool
    reason: str | None = None
    retry_after: int = 0
    method: str | None = None  # ``totp`` or ``recovery`` when ok


@dataclass(frozen=True)
class TotpSetup:
    factor_id: str
    secret: str  # shown once, as the setup key and inside the QR code
    uri: str


def factor_view(factor: dict) -> dict:
    """A factor as the API and the account page show it (no seed, no key)."""
    return {k: factor.get(k) for k in VIEW_FIELDS}


FACTOR_LABELS = {"totp": "An authenticator app", "webauthn": "A passkey"}


def no_notice(uid: str, factor: str, added: bool) -> None:
    """Nobody to tell (unit tests of the service alone)."""


class MfaService:
    def __init__(self, store: MfaStore, sealer: SeedSealer, counters: ThrottleCounters, *, audit: AuditSink | None = None,
                 app_mfa: Callable[[str], str | None] = lambda slug: None, issuer: str = "OfficeSpace IdP",
                 clock: Callable[[], float] = time.time,
                 factor_changed: Callable[[str, str, bool], None] = no_notice):
        """``factor_changed(uid, label, added)`` tells the user a sign-in method was added or removed (an email:
        someone with the password and the session may have done it; contract section 7, issue 23)."""
        self.factor_changed = factor_changed
        self.store = store
        self.sealer = sealer
        self.counters = counters
        self.audit = audit or NullAudit()
        self.app_mfa = app_mfa
        self.issuer = issuer
        self.clock = clock

    def _record(self, uid: str, action: str, *, outcome: str = "success", method: str | None = None, reason: str | None = None,
                actor: Actor | None = None, ip: str | None = None, app: str | None = None) -> None:
        self.audit.record(AuditEvent(type="mfa", outcome=outcome, actor=actor or Actor("user", uid), user_id=uid, ip=ip,
                                     app=app, reason=reason, detail={"action": action, "method": method}))

    # ------------------------------------------------------------------ policy

    def policy(self) -> MfaPolicy:
        return self.store.get_policy()

    def set_policy(self, new, *, actor: Actor, ip: str | None = None, user_agent: str | None = None) -> MfaPolicy:
        """PUT /admin/mfa (and the console's Settings): the grace period of ``required`` counts from when it began;
        recorded as ``admin.mfa.updated`` by ``actor``, with the values that changed before and after."""
        old = self.policy()
        stored = old.replaced_by(new, int(self.clock()))
        self.store.put_policy(stored)
        log.info("mfa policy set policy=%s grace_days=%s methods=%s", stored.policy, stored.grace_days, stored.methods)
        changed, values = value_changes(old.view(), stored.view())
        self.audit.record(AuditEvent("admin.mfa.updated", actor=actor, ip=ip, user_agent=user_agent, changes=changed,
                                     detail=values))
        return stored

    def missing(self, user: dict, pending: PendingSignOn | None, amr) -> Need:
        """What a session that signed in with ``amr`` still lacks for this sign-in (one policy read)."""
        policy = self.policy()
        types = self.store.factor_types(user["id"])
        return gate(self.need(user, pending, policy, types), amr, policy.methods, holds_counted=counted(policy, types))

    def need(self, user: dict, pending: PendingSignOn | None, policy: MfaPolicy | None = None,
             factor_types: list[str] | None = None) -> Need:
        """What this sign-in needs (before looking at how the session signed in)."""
        pending, policy = pending or PendingSignOn(), policy or self.policy()
        # The admin console is internet-facing and can change everything: whatever the policy, an administrator
        # passes a second factor for it (and enrols one at the first visit), as for an app whose mfa is required.
        app_mfa = CONSOLE_MFA if pending.kind == "console" else self.app_mfa(pending.slug) if pending.slug else None
        # A user who enrolled a factor is asked for it whatever the policy and its methods (contract section 7):
        # the factor index is read on every sign-in (in an SSO, with its one batch), so a password alone is never
        # trusted once the user chose more.
        types = self.store.factor_types(user["id"]) if factor_types is None else factor_types
        return need(policy, app_mfa=app_mfa, requested_mfa=pending.mfa_requested, factor_types=types,
                    user_created=epoch_of(user.get("created_at")), now=int(self.clock()))

    # ------------------------------------------------------------------ factors

    def factors(self, uid: str) -> list[dict]:
        return sorted((factor_view(f) for f in self.store.factors(uid)), key=lambda f: f["created_at"] or "")

    def has_factor(self, uid: str) -> bool:
        return bool(self.store.factors(uid))

    def rename(self, uid: str, fid: str, name: str) -> bool:
        name = " ".join((name or "").split())[:64]
        ok = bool(name) and self.store.rename_factor(uid, fid, name)
        if ok:
            self._record(uid, "renamed")
        return ok

    def remove(self, uid: str, fid: str) -> bool:
        factor = self.store.get_factor(uid, fid)
        ok = bool(factor) and self.store.delete_factor(uid, fid)
        if ok and factor:
            self._record(uid, "removed", method=factor["type"])
            self.factor_changed(uid, FACTOR_LABELS.get(factor["type"], "A sign-in method"), False)
            if not self.store.factors(uid):  # the last one: its recovery codes go too (new ones come with the next)
                self.store.delete_all(uid)
        return ok

    def reset(self, uid: str, actor: Actor) -> int:
        """An administrator's reset: every factor and recovery code of the user goes (the caller ends the sessions)."""
        removed = self.store.delete_all(uid)
        self._record(uid, "reset", actor=actor)
        if removed:
            self.factor_changed(uid, "Every sign-in method (an administrator's reset)", False)
        return removed

    # ------------------------------------------------------------------ TOTP

    def begin_totp(self, uid: str, account: str) -> TotpSetup:
        """A pending authenticator-app factor: its seed sealed in the store until the first code confirms it."""
        fid = "totp-" + uuid.uuid4().hex[:16]
        secret = totp.new_secret()
        self.store.put_factor(uid, {"id": fid, "type": "totp", "name": "Authenticator app", "created_at": now_iso(),
                                    "last_used_at": None, "seed": self.sealer.seal(secret, f"{uid}/{fid}")},
                              pending_ttl=PENDING_TTL)
        return TotpSetup(fid, secret, totp.provisioning_uri(secret, account=account, issuer=self.issuer))

    def confirm_totp(self, uid: str, fid: str, code: str, *, ip: str | None = None) -> list[str] | None:
        """Confirm a pending factor with its first code: None when wrong (or expired); else the new recovery
        codes to show once (empty when the user already holds some)."""
        factor = self.store.get_factor(uid, fid)
        if self._throttled(uid) or not factor or factor.get("type") != "totp" or not factor.get("pending"):
            return None
        secret = self.sealer.unseal(factor["seed"], f"{uid}/{fid}")
        timecode = totp.matching_timecode(secret, code, now=self.clock())
        if timecode is None or not self.store.confirm_factor(uid, fid, timecode=timecode, now=int(self.clock())):
            self.counters.record_failure(MFA_THROTTLE, uid)
            self._record(uid, "enrol", outcome="failure", method="totp", reason="wrong_code", ip=ip)
            return None
        self._record(uid, "enrolled", method="totp", ip=ip)
        self.factor_changed(uid, FACTOR_LABELS["totp"], True)
        return [] if self.store.recovery_left(uid) else self.regenerate_recovery(uid, audit=False)

    def pending_totp(self, uid: str, fid: str, account: str) -> TotpSetup | None:
        """The authenticator app `fid` still waiting for its first code, shown again (its setup key and URI), or None
        when there is none (expired, confirmed, or not the user's)."""
        factor = self.store.get_factor(uid, fid)
        if not factor or factor.get("type") != "totp" or not factor.get("pending"):
            return None
        secret = self.sealer.unseal(factor["seed"], f"{uid}/{fid}")
        return TotpSetup(fid, secret, totp.provisioning_uri(secret, account=account, issuer=self.issuer))

    def _throttled(self, uid: str) -> int:
        return self.counters.throttle(MFA_THROTTLE, uid).wait

    def verify_code(self, uid: str, code: str | None, *, ip: str | None = None, app: str | None = None) -> CodeCheck:
        """The second step's code: a TOTP of one of the user's apps (within one step, not used before) or an
        unused recovery code. Failures count on the user's MFA throttle counter."""
        wait = self._throttled(uid)
        if wait:
            self._record(uid, "verify", outcome="failure", reason="throttled", ip=ip, app=app)
            return CodeCheck(False, "throttled", wait)
        code = (code or "").strip()
        if not code:
            return CodeCheck(False, "missing_code")
        method = self._check_totp(uid, code) if totp.looks_like_totp(code) else self._check_recovery(uid, code)
        if method is None:
            after = self.counters.record_failure(MFA_THROTTLE, uid)
            self._record(uid, "verify", outcome="failure", reason="wrong_code", ip=ip, app=app)
            return CodeCheck(False, "wrong_code", after.wait)
        self.counters.clear_failures(MFA_THROTTLE, uid)
        self._record(uid, "verified", method=method, ip=ip, app=app)
        return CodeCheck(True, method=method)

    def _check_totp(self, uid: str, code: str) -> str | None:
        now = self.clock()
        for factor in self.store.factors(uid):
            if factor["type"] != "totp":
                continue
            secret = self.sealer.unseal(factor["seed"], f"{uid}/{factor['id']}")
            timecode = totp.matching_timecode(secret, code, now=now, last_timecode=factor.get("last_timecode"))
            if timecode is not None and self.store.accept_timecode(uid, factor["id"], timecode, int(now)):
                return "totp"
        return None

    def _check_recovery(self, uid: str, code: str) -> str | None:
        if not recovery.looks_like_recovery(code):
            return None
        return "recovery" if self.store.use_recovery(uid, recovery.hash_code(code)) else None

    # ------------------------------------------------------------------ recovery codes

    def regenerate_recovery(self, uid: str, *, audit: bool = True) -> list[str]:
        """Ten new codes (the old ones stop working); the caller shows them once."""
        codes = recovery.new_codes()
        self.store.put_recovery(uid, [recovery.hash_code(c) for c in codes])
        if audit:
            self._record(uid, "recovery_regenerated")
        return codes

    def recovery_left(self, uid: str) -> int:
        return self.store.recovery_left(uid)


#: The amr a verified code adds to the session.
CODE_AMR = OTP
