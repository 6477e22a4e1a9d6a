"""Each Lambda handler, loaded from functions/<name>/app.py as Lambda loads it, fed the sample events."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from idp_testing.lambda_events import LambdaContext, http_event

ROOT = Path(__file__).resolve().parents[2]


def load(name: str):
    spec = importlib.util.spec_from_file_location(f"handler_{name}", ROOT / "functions" / name / "app.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.lambda_handler


def sample(name: str) -> dict:
    return json.loads((ROOT / "events" / name).read_text())


def test_admin_api_handler_serves_routes_and_health(aws_env):
    handler = load("admin_api")
    assert handler(http_event("GET", "/healthz", token=None), LambdaContext())["statusCode"] == 200
    assert handler(http_event("GET", "/admin/users", token=None), LambdaContext())["statusCode"] == 401
    answer = handler(http_event("POST", "/admin/users", {"username": "h", "email": "h@example.com",
                                                        "firstname": "H", "lastname": "I"}), LambdaContext())
    assert answer["statusCode"] == 201 and json.loads(answer["body"])["id"].startswith("u-")


def test_scim_push_handler_takes_the_sample_batch(aws_env):
    # The sample names users and groups that do not exist and no app: nothing to push, nothing failed.
    answer = load("scim_push")(sample("sqs_batch.json"), LambdaContext())
    assert answer == {"batchItemFailures": []}


def test_reconcile_handler_relays_the_outbox_and_reconciles(aws_env):
    handler = load("reconcile")
    assert handler({**sample("reconcile_schedule.json"), "detail": {"job": "outbox"}}, LambdaContext()) == {"relayed": 0}
    answer = handler(sample("reconcile_schedule.json"), LambdaContext())
    assert answer["relayed"] == 0 and "reconcile" in answer


@pytest.mark.parametrize("kind", ["user.created", "user.updated", "user.deleted", "group.created", "group.updated",
                                  "group.deleted", "group.members_changed", "app.access_changed", "app.sync"])
def test_every_sample_event_kind_is_accepted(aws_env, kind):
    body = sample(f"directory/{kind}.json")
    record = {"messageId": "m1", "receiptHandle": "r1", "body": json.dumps(body),
              "attributes": {"ApproximateReceiveCount": "1", "MessageGroupId": body["id"]},
              "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs",
              "eventSourceARN": aws_env.queue_arn, "awsRegion": "us-east-1"}
    assert load("scim_push")({"Records": [record]}, LambdaContext()) == {"batchItemFailures": []}
