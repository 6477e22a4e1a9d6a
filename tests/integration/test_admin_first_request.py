"""The admin function builds its pydantic models on first use (tests/unit/test_admin_cold_start.py): the
first request that validates a body builds that model and answers exactly as before."""
from __future__ import annotations

import json

from idp_testing.lambda_client import load
from idp_testing.lambda_events import LambdaContext, http_event


def test_the_first_request_builds_the_model_it_validates(aws_env):
    from idp.directory import models

    handler = load("admin_api")
    bad = handler(http_event("POST", "/admin/users", {"username": "x", "email": "not-an-email",
                                                      "firstname": "X", "lastname": "Y"}), LambdaContext())
    assert bad["statusCode"] == 400
    assert json.loads(bad["body"]) == {"error": "invalid_field",
                                       "message": "field 'email': must be an email address like name@example.com"}
    unknown = handler(http_event("PATCH", "/admin/users/u-x", {"bogus": 1}), LambdaContext())
    assert unknown["statusCode"] == 400 and json.loads(unknown["body"])["error"] == "unknown_field"
    assert models.UserCreate.__pydantic_complete__ and models.UserPatch.__pydantic_complete__
