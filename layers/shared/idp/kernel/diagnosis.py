"""Why a user can or cannot sign in to an app right now (contract section 8), pure: the facts are read
elsewhere (directory, sign-on state, MFA, audit log, provisioning state) and decided here.

Reason codes, in the order a person should fix them (an unknown user or app is a 404, not a reason):
``not_bound`` (neither directly nor through a group), ``suspended``, ``locked_out`` (the throttle holds
the account back now), ``mfa_not_enrolled`` (a factor is required and the grace period is over),
``no_acs_url`` (the app registers none: IdP-initiated sign-in has nowhere to go),
``signed_requests_failing`` (the app requires signed AuthnRequests and its last one was refused for its
signature)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

from idp.kernel.users import state_is_active

SIGNATURE_REASONS = frozenset({"bad_signature", "signature_required"})


@dataclass(frozen=True)
class SignInFacts:
    user_state: str  # ACTIVE or SUSPENDED
    direct: bool  # bound to the app directly
    groups: tuple[str, ...] = ()  # bound groups the user is a member of
    locked_for: int = 0  # seconds the throttle still holds the account back (0: not locked)
    mfa_need: str = "none"  # idp.signon.mfa.policy.Need value: none, verify, enrol, no_context
    acs_urls: tuple[str, ...] = ()
    signs_requests: bool = False  # the app holds an SP certificate: AuthnRequests must be signed
    last_app_sso_reason: str | None = None  # the reason of the app's last refused SSO, if its last SSO was refused
    extra: dict[str, object] = field(default_factory=dict)


def reasons(facts: SignInFacts) -> list[str]:
    """Every reason the user cannot sign in now (empty: they can)."""
    out = []
    if not facts.direct and not facts.groups:
        out.append("not_bound")
    if not state_is_active(facts.user_state):
        out.append("suspended")
    if facts.locked_for > 0:
        out.append("locked_out")
    if facts.mfa_need == "enrol":
        out.append("mfa_not_enrolled")
    if not facts.acs_urls:
        out.append("no_acs_url")
    if facts.signs_requests and facts.last_app_sso_reason in SIGNATURE_REASONS:
        out.append("signed_requests_failing")
    return out


def provisioning_view(mapping: Mapping[str, object] | None, configured: bool, last: Mapping[str, object] | None) -> dict[str, object]:
    """The user's state in the SP: ``not_configured``, ``not_provisioned``, or the mapping's status
    (synced, deactivated, pending, failed, creating) with the SCIM id, whether it is active, the last log entry."""
    if not configured:
        return {"state": "not_configured", "last": last}
    if not mapping:
        return {"state": "not_provisioned", "last": last}
    view: dict[str, object] = {"state": mapping.get("status") or "unknown", "last": last}
    if mapping.get("scim_id"):
        view["scim_id"] = mapping["scim_id"]
    raw = mapping.get("pushed")
    pushed = raw if isinstance(raw, dict) else None
    if pushed is not None and "active" in pushed:
        view["active"] = bool(pushed["active"])
    elif mapping.get("status") in ("synced", "deactivated"):
        view["active"] = mapping["status"] == "synced"
    return view
