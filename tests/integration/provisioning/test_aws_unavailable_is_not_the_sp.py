"""Our own AWS failing is not the SP's failure (issue 25 item 2, contract sections 4 and 13), through the Lambda
handlers as Lambda loads them (the Container built from settings): SSM or Secrets Manager throttled or down
while the push consumer, the admin API's provisioning routes and its token check run. The push keeps the event
for a retry without counting it against the SP's breaker or its status; the admin API answers 503 with
Retry-After, never a 500 and never an `ok: false` that blames the SP; once AWS answers again all is done."""
from __future__ import annotations

import json
from contextlib import contextmanager

import botocore.client
import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from botocore.exceptions import ClientError

from idp_local.stack import repo_root
from idp_testing.aws import drain, receive_all
from idp_testing.lambda_client import load
from idp_testing.lambda_events import LambdaContext, http_event
from idp_testing.scim_server import ScimServer

TOKEN = "aws-faults-scim-token-7c2d"
_real_call = botocore.client.BaseClient._make_api_call


@contextmanager
def aws_failing(service: str, operations: set[str] | None = None, code: str = "ThrottlingException", status: int = 400):
    """Every call of `service` (or of its `operations`) answers `code`, as AWS does under throttling or an
    outage (botocore's retries see it too); yields the calls refused."""
    refused: list[str] = []

    def call(client, operation, params):
        if client.meta.service_model.service_name == service and (operations is None or operation in operations):
            refused.append(operation)
            raise ClientError({"Error": {"Code": code, "Message": "injected"},
                               "ResponseMetadata": {"HTTPStatusCode": status}}, operation)
        return _real_call(client, operation, params)

    botocore.client.BaseClient._make_api_call = call
    try:
        yield refused
    finally:
        botocore.client.BaseClient._make_api_call = _real_call


def _admin(handler, method: str, path: str, body=None) -> tuple[int, dict, dict]:
    answer = handler(http_event(method, path, body), LambdaContext())
    return answer["statusCode"], answer.get("headers") or {}, json.loads(answer["body"] or "null") if answer.get("body") else {}


@pytest.fixture
def world(aws_env):
    from idp import bootstrap

    server = ScimServer(token=TOKEN)
    admin = load("admin_api")
    assert _admin(admin, "POST", "/admin/apps", {"slug": "officespace", "label": "OfficeSpace", "template": "officespace",
                                                  "sp_entity_id": "acme.example.com",
                                                  "acs_urls": ["https://acme.example.com/users/auth/saml/callback"]})[0] == 201
    assert _admin(admin, "PUT", "/admin/apps/officespace/provisioning",
                  {"base_url": server.base_url, "token": TOKEN, "enabled": True})[0] == 200
    status, _, user = _admin(admin, "POST", "/admin/users", {"username": "nadia", "email": "nadia@example.com",
                                                              "firstname": "Nadia", "lastname": "Okafor"})
    assert status == 201 and _admin(admin, "PUT", f"/admin/apps/officespace/users/{user['id']}")[0] == 204
    bootstrap.reset()  # a cold container: the SCIM token is not cached yet, the consumer must read it from SSM
    yield admin, server, user["id"], aws_env
    server.close()


def _record(uid: str, queue_arn: str) -> dict:
    body = {"type": "user.updated", "id": uid, "version": 1, "at": "2026-12-07T09:30:00Z"}
    return {"messageId": "m1", "receiptHandle": "r1", "body": json.dumps(body),
            "attributes": {"ApproximateReceiveCount": "1", "MessageGroupId": uid}, "messageAttributes": {},
            "md5OfBody": "", "eventSource": "aws:sqs", "eventSourceARN": queue_arn, "awsRegion": "us-east-1"}


def test_ssm_throttled_keeps_the_push_for_later_and_never_blames_the_sp(world):
    admin, server, uid, res = world
    push = load("scim_push")
    import boto3

    sqs = boto3.client("sqs")
    for m in receive_all(sqs, res.queue_url):  # the fixture's own events: only the records below may push nadia
        sqs.delete_message(QueueUrl=res.queue_url, ReceiptHandle=m["ReceiptHandle"])
    with aws_failing("ssm", {"GetParameter"}) as refused:
        with pytest.raises(BatchProcessingError):  # the whole batch failed: Lambda's error returns it to the queue
            push({"Records": [_record(uid, res.queue_arn)]}, LambdaContext())
    assert refused and not server.list("Users")
    _, _, status = _admin(admin, "GET", "/admin/apps/officespace/provisioning/status")
    assert (status["state"], status["reason"], status["last_error"]) == ("ok", None, None), status  # the SP did nothing wrong
    assert status["pending"] == 1  # and the user is still to push
    assert push({"Records": [_record(uid, res.queue_arn)]}, LambdaContext()) == {"batchItemFailures": []}
    # Done inline, or (a loaded machine: the SP's answer took past the 1 s inline budget) handed to the app's
    # own message group on the queue, which the event source mapping then delivers (CI saw the latter).
    drain(sqs, res.queue_url, res.queue_arn, push, timeout=30, context=LambdaContext(), until=lambda: bool(server.list("Users")))
    assert [u["userName"] for u in server.list("Users")] == ["nadia@example.com"]


@pytest.mark.parametrize("code, status, wait", [("ThrottlingException", 400, "2"), ("InternalServerError", 500, "5")])
def test_sync_now_and_provision_now_answer_503_while_ssm_fails(world, code, status, wait):
    admin, server, uid, _ = world
    with aws_failing("ssm", {"GetParameter"}, code=code, status=status):
        for path in ("/admin/apps/officespace/provisioning/sync", f"/admin/apps/officespace/provisioning/users/{uid}/sync"):
            got, headers, body = _admin(admin, "POST", path)
            assert (got, headers.get("Retry-After"), body["error"]) == (503, wait, "service_unavailable"), (path, body)
    _, _, app_status = _admin(admin, "GET", "/admin/apps/officespace/provisioning/status")
    assert (app_status["state"], app_status["reason"], app_status["last_error"]) == ("ok", None, None), app_status
    got, _, body = _admin(admin, "POST", "/admin/apps/officespace/provisioning/sync")
    assert got == 200 and body["ok"] is True, body
    assert [u["userName"] for u in server.list("Users")] == ["nadia@example.com"]


def test_a_provisioning_config_whose_token_cannot_be_stored_is_a_503(world):
    admin, server, _, _ = world
    with aws_failing("ssm", {"PutParameter"}, code="InternalServerError", status=500):
        got, headers, body = _admin(admin, "PUT", "/admin/apps/officespace/provisioning",
                                    {"base_url": server.base_url, "token": "another-token-3e4f", "enabled": True})
    assert (got, headers.get("Retry-After"), body["error"]) == (503, "5", "service_unavailable"), body
    assert _admin(admin, "POST", "/admin/apps/officespace/provisioning/sync")[2]["ok"] is True  # the old token works


def test_the_admin_token_from_secrets_manager_throttled_is_a_503_then_works(world, monkeypatch):
    from idp import bootstrap

    _, _, _, res = world
    monkeypatch.delenv("ADMIN_TOKEN")
    monkeypatch.setenv("ADMIN_TOKEN_SECRET_ARN", res.admin_token_secret_arn)
    bootstrap.reset()
    admin = load("admin_api")
    with aws_failing("secretsmanager") as refused:
        got, headers, body = _admin(admin, "GET", "/admin/users")
    assert refused and (got, headers.get("Retry-After"), body["error"]) == (503, "2", "service_unavailable"), body
    assert _admin(admin, "GET", "/admin/users")[0] == 200


def test_the_scheduled_reconcile_tries_again_next_run_without_blaming_the_sp(world):
    admin, server, _, _ = world
    schedule = json.loads((repo_root() / "events" / "reconcile_schedule.json").read_text())
    reconcile = load("reconcile")
    with aws_failing("ssm", {"GetParameter"}):
        answer = reconcile(schedule, LambdaContext())
    assert answer["reconcile"]["officespace"]["result"] == "retry", answer
    _, _, status = _admin(admin, "GET", "/admin/apps/officespace/provisioning/status")
    assert (status["state"], status["last_error"]) == ("ok", None), status
    assert reconcile(schedule, LambdaContext())["reconcile"]["officespace"]["result"] == "reconciled"
    assert [u["userName"] for u in server.list("Users")] == ["nadia@example.com"]
