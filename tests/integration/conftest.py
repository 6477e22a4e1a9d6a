"""Fixtures of the integration tests that drive the deployed functions' handlers."""
from __future__ import annotations

import json

import pytest

from idp_local.stack import load_function, repo_root
from idp_testing.lambda_events import LambdaContext, http_event


@pytest.fixture
def admin_handler(aws_env):
    """call(method, path, body=None, status=None) -> the JSON answer of the admin function's Lambda handler (an API
    Gateway v2 event, as deployed), asserting the status when one is given."""
    handler = load_function(repo_root(), "admin_api")

    def call(method, path, body=None, status=None):
        answer = handler(http_event(method, path, body), LambdaContext())
        if status is not None:
            assert answer["statusCode"] == status, (method, path, answer["body"])
        return json.loads(answer["body"]) if answer.get("body") else None

    return call
