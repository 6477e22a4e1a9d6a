"""Sign-in diagnosis (contract section 8): GET /admin/apps/<slug>/users/<user_id>/diagnosis → whether the
user can sign in to the app now and every reason not (idp.kernel.diagnosis), how access is granted, the
last SSO attempt, and the user's provisioning state in the SP: the use case idp.app.diagnosis answers it."""
from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler.api_gateway import Router
from pydantic import BaseModel, ConfigDict, Field

from idp.bootstrap import container
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


@router.get("/admin/apps/<slug>/users/<user_id>/diagnosis", tags=["audit"], security=api.SECURITY,
            summary="Can this user sign in to this app now, and if not, why",
            responses=ok(200, Diagnosis, "the diagnosis", 404))
def diagnosis(slug: str, user_id: str):
    return container().diagnosis.of(slug, user_id).as_json()
