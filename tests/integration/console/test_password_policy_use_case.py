"""The password policy use case (issue 24: `idp.app.password_policy_admin.PasswordPolicyAdmin`, handed out by the
container built from Settings as a Lambda builds it): the console's Settings page and GET|PUT /admin/password-policy
read and set the one policy through it; a bad value is a 400 naming its field; a change is recorded as the
administrator acting, from their client."""
from __future__ import annotations

import json

import pytest

from idp.app.acting import Acting
from idp.bootstrap import container
from idp.kernel.audit import Actor
from idp.kernel.audit_log import AuditQuery
from idp.kernel.errors import DomainError
from idp_testing.lambda_events import LambdaContext, http_event

BY = Acting(Actor("admin", "console-admin-id"), "198.51.100.25", "console-browser")


def test_the_console_and_the_admin_api_set_and_read_one_policy(aws_env):
    from idp.web.admin_api import admin_routers
    from idp.web.resolver import lambda_app

    api = lambda_app(*admin_routers())
    uses = container().password_policy_admin
    assert uses.current().view() == {"min_length": 12, "block_common": True, "block_user_info": True}

    stored = uses.set({"min_length": 16, "block_common": True, "block_user_info": False}, BY)
    answer = api.resolve(http_event("GET", "/admin/password-policy"), LambdaContext())
    assert answer["statusCode"] == 200 and json.loads(answer["body"]) == stored.view() == uses.current().view()
    (event,) = container().audit.query(AuditQuery(type="admin.password_policy.updated"))[0]
    assert (event["actor"], event["ip"], sorted(event["changes"])) == (
        {"type": "admin", "id": BY.actor.id}, BY.ip, ["block_user_info", "min_length"])

    answer = api.resolve(http_event("PUT", "/admin/password-policy", {"min_length": 14}), LambdaContext())
    assert answer["statusCode"] == 200 and uses.current().min_length == 14
    with pytest.raises(DomainError) as bad:
        uses.set({"min_length": 4}, BY)
    assert bad.value.status == 400 and "min_length" in bad.value.message
    assert "at least 14 characters" in uses.current().describe()
