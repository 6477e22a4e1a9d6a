"""The password policy in the admin API (contract section 9): GET|PUT /admin/password-policy
``{"min_length": 8..128, "block_common": bool, "block_user_info": bool}``. A PUT is audited as
``admin.password_policy.updated`` with the values before and after; every later password set through the
directory (admin API, console, /account, activation, reset) is checked against it."""
from __future__ import annotations

from aws_lambda_powertools.event_handler.api_gateway import Router
from pydantic import BaseModel, ConfigDict, Field

from idp.app.acting import Acting
from idp.bootstrap import container
from idp.directory.password_policy import PasswordPolicyView as PolicyBody
from idp.kernel.audit import API_ADMIN
from idp.web import api_models as api
from idp.web.api_models import ok
from idp.web.auth import admin_middleware
from idp.web.http import json_body
from idp.web.request import current_request

router = Router()
router.use([admin_middleware])
router.typed = True

PATH = "/admin/password-policy"


class PasswordPolicyView(BaseModel):
    model_config = ConfigDict(defer_build=True, json_schema_extra={"examples": [
        {"min_length": 12, "block_common": True, "block_user_info": True}]})
    min_length: int = Field(description="the fewest characters a password may have (8 to 128; default 12)")
    block_common: bool = Field(description="common and breached passwords are refused (default true)")
    block_user_info: bool = Field(description="passwords containing the username, the email's local part, the first or "
                                              "the last name are refused (default true)")


def _doc(summary: str, responses: dict) -> dict:
    return {"tags": ["users"], "summary": summary, "responses": responses, "security": api.SECURITY}


@router.get(PATH, **_doc("The password policy", ok(200, PasswordPolicyView, "the policy")))
def get_policy() -> PolicyBody:
    return container().password_policy_admin.current().view()


@router.put(PATH, **_doc("Set the password policy (a field left out takes its default)",
                         ok(200, PasswordPolicyView, "the policy", 400, 413)))
def put_policy(body: api.PasswordPolicyBody) -> PolicyBody:
    request = current_request(router, with_form=False)
    by = Acting(API_ADMIN, request.client_ip, request.headers.get("user-agent"))
    return container().password_policy_admin.set(json_body(request), by).view()
