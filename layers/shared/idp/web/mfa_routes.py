"""MFA in the admin API (contract section 7): GET|PUT /admin/mfa (the global policy), GET
/admin/users/{id}/mfa (a user's factors, never a seed or a key) and DELETE /admin/users/{id}/mfa (all
factors and recovery codes removed, every session of the user ended)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from pydantic import BaseModel, ConfigDict, Field

from idp.app.acting import Acting
from idp.app.browser import Client
from idp.bootstrap import container
from idp.directory.models import parse
from idp.kernel.audit import API_ADMIN
from idp.web import api_models as api
from idp.web.api_models import ok
from idp.web.auth import admin_middleware
from idp.web.http import json_body
from idp.web.request import current_request

if TYPE_CHECKING:
    from idp.app.mfa_admin import MfaAdmin

router = Router()
router.use([admin_middleware])
router.typed = True


class MfaPolicyView(BaseModel):
    model_config = ConfigDict(defer_build=True, json_schema_extra={"examples": [{"policy": "required", "grace_days": 7, "methods": ["totp", "webauthn"]}]})
    policy: str = Field(description="off, optional or required")
    grace_days: int = Field(description="days a user may still sign in without a factor once required applies to them")
    methods: list[str] = Field(description="the methods that count as a second factor: totp, webauthn")


class FactorView(BaseModel):
    model_config = ConfigDict(defer_build=True)
    id: str
    type: str = Field(description="totp or webauthn")
    name: str | None = None
    created_at: str | None = None
    last_used_at: str | None = None


class FactorList(BaseModel):
    model_config = ConfigDict(defer_build=True)
    factors: list[FactorView]


def _doc(summary: str, responses: dict, tag: str = "mfa") -> dict:
    return {"tags": [tag], "summary": summary, "responses": responses, "security": api.SECURITY}


def _mfa_admin() -> "MfaAdmin":
    return container().mfa_admin


@router.get("/admin/mfa", **_doc("The global MFA policy", ok(200, MfaPolicyView, "the policy")))
def get_policy():
    return _mfa_admin().policy().view()


@router.put("/admin/mfa", **_doc("Set the global MFA policy", ok(200, MfaPolicyView, "the policy", 400, 413)))
def put_policy(body: api.MfaPolicyBody):
    from idp.signon.mfa.policy_body import MfaPolicySettings  # only who validates a policy imports it

    request = current_request(router, with_form=False)
    settings = parse(MfaPolicySettings, json_body(request))
    client = Client(request.client_ip, request.headers.get("user-agent"))
    return _mfa_admin().set_policy(settings, actor=API_ADMIN, client=client).view()


@router.get("/admin/users/<user_id>/mfa", **_doc("A user's second factors", ok(200, FactorList, "the factors", 404), "users"))
def get_factors(user_id: str):
    return {"factors": [f.as_dict() for f in _mfa_admin().factors(user_id)]}


@router.delete("/admin/users/<user_id>/mfa", **_doc("Reset a user's MFA (every factor; sessions end)", ok(204, None, "reset", 404), "users"))
def reset(user_id: str):
    request = current_request(router, with_form=False)
    _mfa_admin().reset(user_id, Acting(API_ADMIN, request.client_ip, request.headers.get("user-agent")))
    return Response(status_code=204, content_type="application/json", body="")
