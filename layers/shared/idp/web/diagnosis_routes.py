"""Sign-in diagnosis (contract section 8): GET /admin/apps/<slug>/users/<user_id>/diagnosis → whether the
user can sign in to the app now and every reason not (idp.kernel.diagnosis), how access is granted, the
last SSO attempt, and the user's provisioning state in the SP. The facts are read here, decided there."""
from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler.api_gateway import Router
from pydantic import BaseModel, ConfigDict, Field

from idp.bootstrap import Container, container
from idp.kernel.audit_log import AuditQuery
from idp.kernel.diagnosis import SignInFacts, provisioning_view, reasons
from idp.kernel.errors import not_found
from idp.web import api_models as api
from idp.web.api_models import ok
from idp.web.audit_routes import EventView
from idp.web.auth import admin_middleware

router = Router()
router.typed = True
router.use([admin_middleware])


class AccessView(BaseModel):
    model_config = ConfigDict(defer_build=True)
    direct: bool = Field(description="bound to the app directly")
    groups: list[str] = Field(description="ids of the bound groups the user is a member of")


class ProvisioningStateView(BaseModel):
    model_config = ConfigDict(defer_build=True, extra="allow")
    state: str = Field(description="not_configured, not_provisioned, synced, deactivated, pending, failed, creating")
    scim_id: str | None = None
    active: bool | None = None
    last: dict[str, Any] | None = Field(default=None, description="the user's last provisioning log entry")


class Diagnosis(BaseModel):
    model_config = ConfigDict(defer_build=True, json_schema_extra={"examples": [{
        "can_sign_in": False, "reasons": ["not_bound"], "access": {"direct": False, "groups": []},
        "last_sso": None, "provisioning": {"state": "not_provisioned", "last": None}}]})
    can_sign_in: bool
    reasons: list[str] = Field(description="not_bound, suspended, locked_out, mfa_not_enrolled, no_acs_url, "
                                           "signed_requests_failing")
    access: AccessView
    last_sso: EventView | None
    provisioning: ProvisioningStateView


def mfa_need(parts: Container, user: dict, slug: str) -> str:
    """What the MFA policy asks of this user for an IdP-initiated sign-in to the app (``none`` without MFA)."""
    service = getattr(parts, "mfa", None)  # the MFA context's service, where it is part of the container
    if service is None:
        return "none"
    from idp.signon.models import PendingSignOn

    need = service.need(user, PendingSignOn.idp(slug))
    return getattr(need, "value", str(need))


def _latest(parts: Container, query: AuditQuery) -> dict | None:
    items, _ = parts.audit.query(query, limit=1)
    return items[0] if items else None


@router.get("/admin/apps/<slug>/users/<user_id>/diagnosis", tags=["audit"], security=api.SECURITY,
            summary="Can this user sign in to this app now, and if not, why",
            responses=ok(200, Diagnosis, "the diagnosis", 404))
def diagnosis(slug: str, user_id: str):
    from idp.provisioning.planner import ProvisioningConfig

    parts = container()
    store = parts.store
    app = store.get_app(slug)
    if not app:
        raise not_found("app", slug)
    user = store.get_user(user_id)
    if not user:
        raise not_found("user", user_id)
    access = parts.user_access.to_app(slug, user_id)
    groups, direct = list(access.groups), access.direct
    app_sso = _latest(parts, AuditQuery(type="sso", app=slug))
    facts = SignInFacts(
        user_state=user.get("state", "ACTIVE"), direct=direct, groups=tuple(groups),
        locked_for=parts.signon_state.throttle("account", user_id).wait, mfa_need=mfa_need(parts, user, slug),
        acs_urls=tuple(app.get("acs_urls") or ()), signs_requests=bool(app.get("sp_certificate")),
        last_app_sso_reason=app_sso.get("reason") if app_sso and app_sso["outcome"] == "failure" else None)
    found = reasons(facts)
    log = parts.provisioning_state.read_log(slug, user_id=user_id, limit=1)
    return {
        "can_sign_in": not found,
        "reasons": found,
        "access": {"direct": direct, "groups": groups},
        "last_sso": _latest(parts, AuditQuery(type="sso", user_id=user_id, app=slug)),
        "provisioning": provisioning_view(parts.provisioning_state.get_map(slug, "USER", user_id),
                                          ProvisioningConfig.from_app(app) is not None, log[0] if log else None),
    }
