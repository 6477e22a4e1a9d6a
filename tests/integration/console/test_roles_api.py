"""`roles` on users (contract section 2): set on create and patch, returned by GET, unknown roles refused."""
from __future__ import annotations

import json

import pytest

from idp_testing.lambda_events import LambdaContext, http_event


@pytest.fixture
def api(aws_env):
    from idp.web.admin_routes import router as admin_router
    from idp.web.resolver import lambda_app

    app = lambda_app(admin_router)

    def call(method, path, body=None):
        answer = app.resolve(http_event(method, path, body), LambdaContext())
        return answer["statusCode"], json.loads(answer["body"]) if answer.get("body") else None

    return call


USER = {"username": "root", "email": "root@example.com", "firstname": "Ro", "lastname": "Ot"}


def test_roles_on_create_and_patch_are_returned_by_get(api):
    status, created = api("POST", "/admin/users", {**USER, "roles": ["admin", "admin"]})
    assert status == 201 and created["roles"] == ["admin"]
    status, got = api("GET", f"/admin/users/{created['id']}")
    assert got["roles"] == ["admin"]
    status, patched = api("PATCH", f"/admin/users/{created['id']}", {"roles": []})
    assert status == 200 and patched["roles"] == []
    assert api("GET", f"/admin/users/{created['id']}")[1]["roles"] == []


@pytest.mark.parametrize("roles", [["owner"], ["admin", "root"], "admin", [1]])
def test_an_unknown_role_is_a_400_naming_the_field(api, roles):
    status, body = api("POST", "/admin/users", {**USER, "roles": roles})
    assert status == 400 and body["error"] == "invalid_field" and "'roles" in body["message"], body
    status, created = api("POST", "/admin/users", {**USER, "username": "plain", "email": "plain@example.com"})
    assert status == 201 and "roles" not in created
    status, body = api("PATCH", f"/admin/users/{created['id']}", {"roles": roles})
    assert status == 400 and "'roles" in body["message"]
