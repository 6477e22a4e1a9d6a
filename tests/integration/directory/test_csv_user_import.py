"""CSV import of users (contract section 10; issue 27 item 5), through the admin API's Lambda handler and the
ImportJobFunction's handler fed by the import queue as the local stack's event source feeds it (moto):
the preview (every error class with its line number, the summary, nothing written), the file-level 4xx (413 over
10,000 rows, 415, not UTF-8, no header, unknown columns, empty), the confirmation (202, once: 409 after), the
background apply via the queue, redelivery idempotence, the status, a second import of the same file all
`unchanged`, and the DynamoDB writes per imported user (<= 3) counted on the table's client."""
from __future__ import annotations

import base64
import json

import boto3
import pytest

from idp_testing.aws import drain
from idp_testing.lambda_client import load
from idp_testing.lambda_events import LambdaContext, http_event

PASSWORD = "Violet-Harbor-Lantern-42"
HEADER = "username,email,firstname,lastname,department,state\n"


@pytest.fixture(autouse=True)
def moto_as_the_local_stack_runs_it():
    """moto patched as the local stack patches it (a transaction costs its items, not a copy of the table, and a
    query its partition, a message itself): the semantics are DynamoDB's; without it each user written copies the whole table."""
    from idp_local import moto_queries, moto_queues, moto_transactions

    for patch in (moto_transactions, moto_queries, moto_queues):
        patch.install()


@pytest.fixture
def admin(aws_env):
    return load("admin_api")


@pytest.fixture
def job(aws_env):
    return load("import_job")


def call(handler, method: str, path: str, body=None, *, csv: str | bytes | None = None, content_type: str = "text/csv"):
    if csv is not None:
        raw = csv if isinstance(csv, bytes) else csv.encode()
        event = http_event(method, path, headers={"content-type": content_type})
        event["body"], event["isBase64Encoded"] = base64.b64encode(raw).decode(), True
    else:
        event = http_event(method, path, body)
    answer = handler(event, LambdaContext())
    return answer["statusCode"], json.loads(answer["body"]) if answer.get("body") else None


def make_user(admin, username: str, email: str, **more) -> dict:
    status, user = call(admin, "POST", "/admin/users", {"username": username, "email": email, "firstname": "F",
                                                        "lastname": "L", **more})
    assert status == 201, user
    return user


def run_job(aws_env, job) -> dict:
    sqs = boto3.client("sqs", region_name="us-east-1")
    return drain(sqs, aws_env.import_queue_url, aws_env.import_queue_arn, job, timeout=60,
                 context=LambdaContext())


def users_by_name(admin) -> dict[str, dict]:
    out: dict[str, dict] = {}
    cursor = None
    while True:
        event = http_event("GET", "/admin/users", query={"limit": "200", **({"cursor": cursor} if cursor else {})})
        answer = json.loads(admin(event, LambdaContext())["body"])
        out.update({u["username"]: u for u in answer["items"]})
        cursor = answer.get("next_cursor")
        if not cursor:
            return out


def test_preview_names_every_error_class_by_line_and_writes_nothing(admin):
    existing = make_user(admin, "kept", "kept@example.com", department="Ops")
    other = make_user(admin, "other", "other@example.com")
    before = users_by_name(admin)
    csv = (HEADER
           + "newbie,newbie@example.com,New,Bie,Eng,active\n"          # 2 create (state in any case)
           + "kept,kept@example.com,F,L,Ops,ACTIVE\n"                    # 3 unchanged
           + "\n"                                                        # 4 blank: skipped
           + "kept2,not-an-email,A,B,,\n"                                # 5 invalid email
           + "badstate,badstate@example.com,A,B,,RETIRED\n"              # 6 bad state
           + "newbie,dup@example.com,A,B,,\n"                            # 7 duplicate username in the file
           + "taker,other@example.com,A,B,,\n"                           # 8 email of another user
           + "other,moved@example.com,F,L,Sales,\n"                      # 9 update (email and department)
           + ",,A,B,,\n"                                                 # 10 neither username nor email
           + "lonely,lonely@example.com,,B,,\n")                         # 11 missing firstname for a create
    status, preview = call(admin, "POST", "/admin/imports/users", csv=csv)
    assert status == 201, preview
    rows = {r["row"]: r for r in preview["rows"]}
    assert sorted(rows) == [2, 3, 5, 6, 7, 8, 9, 10, 11]
    assert rows[2]["action"] == "create" and "user_id" not in rows[2]
    assert rows[3] == {"row": 3, "action": "unchanged", "user_id": existing["id"]}
    assert rows[9]["action"] == "update" and rows[9]["user_id"] == other["id"]

    def error(n: int) -> tuple[str, str]:
        assert rows[n]["action"] == "error", rows[n]
        ((only,),) = [rows[n]["errors"]]
        return only["field"], only["message"]

    assert error(5)[0] == "email" and "email address" in error(5)[1]
    assert error(6)[0] == "state"
    assert error(7) == ("username", "'newbie' is also on line 2 of the file (usernames and emails are one namespace)")
    assert error(8)[0] == "email" and "another user (other)" in error(8)[1]
    assert error(10)[0] == "username"
    assert error(11) == ("firstname", "is required to create a user")
    assert preview["summary"] == {"create": 1, "update": 1, "unchanged": 1, "error": 6}
    assert users_by_name(admin) == before  # a preview writes nothing to the directory
    status, state = call(admin, "GET", f"/admin/imports/users/{preview['id']}")
    assert status == 200 and state["status"] == "preview" and state["applied"] == 0 and state["failed_rows"] == []


@pytest.mark.parametrize(("raw", "status", "words"), [
    (b"", 400, "empty"),
    (b"username,email\r\nj\xe9r\xf4me,jerome@example.com\r\n", 400, "not UTF-8"),
    (b"jdoe,jdoe@example.com,Jane,Doe\n", 400, "no header row"),
    (b"username,email,nickname\njdoe,jdoe@example.com,JD\n", 400, "unknown column(s) 'nickname'"),
    (b"username,email,password\njdoe,jdoe@example.com,x\n", 400, "passwords are never imported"),
    (b"firstname,lastname\nJane,Doe\n", 400, "'username' or an 'email' column"),
])
def test_a_bad_file_is_a_4xx_naming_the_problem(admin, raw, status, words):
    got, body = call(admin, "POST", "/admin/imports/users", csv=raw)
    assert got == status and body["error"] == "invalid_csv" and words in body["message"], body


def test_a_bom_is_accepted(admin):
    status, body = call(admin, "POST", "/admin/imports/users", csv="\ufeffusername,email,firstname,lastname\nb,b@example.com,B,C\n")
    assert status == 201 and body["summary"]["create"] == 1, body


def test_more_than_10000_rows_is_a_413_naming_the_limit(admin):
    rows = "".join(f"u{i},u{i}@example.com,U,V\n" for i in range(10_001))
    status, body = call(admin, "POST", "/admin/imports/users", csv="username,email,firstname,lastname\n" + rows)
    assert status == 413 and body["error"] == "too_many_rows" and "10,000 rows" in body["message"], body


@pytest.mark.parametrize("content_type", ["application/json", "text/plain", "multipart/form-data; boundary=x"])
def test_another_content_type_is_a_415(admin, content_type):
    status, body = call(admin, "POST", "/admin/imports/users", csv="username,email\na,a@example.com\n", content_type=content_type)
    assert status == 415 and body["error"] == "unsupported_media_type" and "text/csv" in body["message"], body


def test_confirm_applies_in_the_background_once_and_a_second_import_is_unchanged(aws_env, admin, job):
    existing = make_user(admin, "grace", "grace@example.com", department="Navy")
    csv = (HEADER + "".join(f"user{i},user{i}@example.com,First{i},Last{i},Eng,ACTIVE\n" for i in range(300))
           + "grace,grace@example.com,F,L,Research,SUSPENDED\n" + "broken,nope,A,B,,\n")
    status, preview = call(admin, "POST", "/admin/imports/users", csv=csv)
    assert status == 201 and preview["summary"] == {"create": 300, "update": 1, "unchanged": 0, "error": 1}, preview["summary"]
    status, queued = call(admin, "POST", f"/admin/imports/users/{preview['id']}/confirm", {"send_activation": True})
    assert status == 202 and queued["status"] == "running" and queued["send_activation"] is True, queued
    assert call(admin, "POST", f"/admin/imports/users/{preview['id']}/confirm", {})[0] == 409  # confirmed once
    assert users_by_name(admin).keys() == {"grace"}  # nothing applied by the API call itself
    stats = run_job(aws_env, job)
    assert stats["records"] == 2 and stats["failures"] == 0, stats  # 301 rows: two chunks of at most 250
    status, state = call(admin, "GET", f"/admin/imports/users/{preview['id']}")
    assert status == 200 and state["status"] == "done" and state["applied"] == 301 and state["failed_rows"] == [], state
    users = users_by_name(admin)
    assert len(users) == 301 and users["user7"]["firstname"] == "First7" and users["user7"]["department"] == "Eng"
    assert users["grace"]["id"] == existing["id"] and users["grace"]["state"] == "SUSPENDED"
    assert users["grace"]["department"] == "Research" and "password" not in json.dumps(users)
    # the same file again: only unchanged rows (and the same error row)
    status, again = call(admin, "POST", "/admin/imports/users", csv=csv)
    assert again["summary"] == {"create": 0, "update": 0, "unchanged": 301, "error": 1}, again["summary"]


def test_a_redelivered_chunk_writes_nothing_twice(aws_env, admin, job):
    csv = HEADER + "".join(f"re{i},re{i}@example.com,R,E,,\n" for i in range(5))
    _, preview = call(admin, "POST", "/admin/imports/users", csv=csv)
    assert call(admin, "POST", f"/admin/imports/users/{preview['id']}/confirm")[0] == 202
    sqs = boto3.client("sqs", region_name="us-east-1")
    (message,) = sqs.receive_message(QueueUrl=aws_env.import_queue_url, MaxNumberOfMessages=10,
                                     AttributeNames=["All"])["Messages"]
    from idp_local.event_source import to_lambda_record

    record = to_lambda_record(message, aws_env.import_queue_arn)
    assert job({"Records": [record]}, LambdaContext()) == {"batchItemFailures": []}
    first = users_by_name(admin)
    # a delivery after the chunk finished, and one of a chunk whose result was lost (rows already applied)
    assert job({"Records": [record]}, LambdaContext()) == {"batchItemFailures": []}
    table = boto3.resource("dynamodb", region_name="us-east-1").Table(aws_env.table_name)
    table.delete_item(Key={"pk": f"USERIMPORT#{preview['id']}", "sk": "RESULT#0000"})
    assert job({"Records": [record]}, LambdaContext()) == {"batchItemFailures": []}
    assert users_by_name(admin) == first and all(u["version"] == 1 for u in first.values())
    _, state = call(admin, "GET", f"/admin/imports/users/{preview['id']}")
    assert state["status"] == "done" and state["applied"] == 5


def test_a_row_refused_at_apply_time_is_a_failed_row(aws_env, admin, job):
    _, preview = call(admin, "POST", "/admin/imports/users", csv=HEADER + "late,late@example.com,L,A,,\nfine,fine@example.com,F,I,,\n")
    make_user(admin, "someone", "late@example.com")  # takes the email after the preview
    assert call(admin, "POST", f"/admin/imports/users/{preview['id']}/confirm", {"send_activation": False})[0] == 202
    run_job(aws_env, job)
    _, state = call(admin, "GET", f"/admin/imports/users/{preview['id']}")
    assert state["status"] == "done" and state["applied"] == 1, state
    ((failed,),) = [state["failed_rows"]]
    assert failed["row"] == 2 and failed["errors"][0]["field"] == "email" and "late@example.com" in failed["errors"][0]["message"]


def test_confirm_and_status_of_an_unknown_import_are_404_and_a_bad_body_400(admin):
    assert call(admin, "GET", "/admin/imports/users/ui-0000000000000000")[0] == 404
    assert call(admin, "POST", "/admin/imports/users/ui-0000000000000000/confirm", {})[0] == 404
    _, preview = call(admin, "POST", "/admin/imports/users", csv="username,email,firstname,lastname\nz,z@example.com,Z,Z\n")
    status, body = call(admin, "POST", f"/admin/imports/users/{preview['id']}/confirm", {"send_activation": "yes"})
    assert status == 400 and "send_activation" in body["message"]
    status, body = call(admin, "POST", f"/admin/imports/users/{preview['id']}/confirm", {"notify": True})
    assert status == 400 and body["error"] == "unknown_field"


class CountingClient:
    """The table's low-level client, counting the DynamoDB write calls (every item written by one of them)."""

    WRITES = ("put_item", "update_item", "delete_item", "batch_write_item", "transact_write_items")

    def __init__(self, inner):
        self.inner, self.calls = inner, 0

    def __getattr__(self, name):
        attr = getattr(self.inner, name)
        if name in self.WRITES:
            def counted(*args, **kwargs):
                self.calls += 1
                return attr(*args, **kwargs)
            return counted
        return attr


def test_dynamodb_writes_per_imported_user_are_at_most_three(aws_env, admin):
    from idp import bootstrap
    from idp.directory.user_imports import UserImports

    csv = HEADER + "".join(f"w{i},w{i}@example.com,W,X,Eng,\n" for i in range(100))
    _, preview = call(admin, "POST", "/admin/imports/users", csv=csv)
    assert call(admin, "POST", f"/admin/imports/users/{preview['id']}/confirm")[0] == 202
    parts = bootstrap.container()
    counting = CountingClient(parts.table.meta.client)
    parts.table.meta.client = counting  # the resource's client: every Table call (and batch_writer) goes through it
    try:
        service: UserImports = parts.user_imports
        result = service.apply_chunk(preview["id"], 0, last_attempt=False)
    finally:
        parts.table.meta.client = counting.inner
    assert result is not None and result["applied"] == 100
    assert counting.calls / 100 <= 3, counting.calls
    # a transaction per 16 users, the outbox cleared and the audit events written 25 a call, one result item
    assert counting.calls <= 30, counting.calls


def test_an_unexpected_failure_is_retried_then_on_the_last_attempt_the_import_fails(aws_env, admin, job, monkeypatch):
    from idp.directory.service import DirectoryService
    from idp_local.event_source import to_lambda_record

    _, preview = call(admin, "POST", "/admin/imports/users", csv=HEADER + "ok1,ok1@example.com,O,K,,\nboom,boom@example.com,B,M,,\n")
    assert call(admin, "POST", f"/admin/imports/users/{preview['id']}/confirm")[0] == 202
    real, real_many = DirectoryService.create_user, DirectoryService.create_users

    def flaky(self, body, **kwargs):
        if body["username"] == "boom":
            raise RuntimeError("DynamoDB went away")
        return real(self, body, **kwargs)

    def flaky_many(self, bodies):
        if any(b["username"] == "boom" for b in bodies):
            raise RuntimeError("DynamoDB went away")
        return real_many(self, bodies)

    monkeypatch.setattr(DirectoryService, "create_user", flaky)
    monkeypatch.setattr(DirectoryService, "create_users", flaky_many)
    sqs = boto3.client("sqs", region_name="us-east-1")
    (message,) = sqs.receive_message(QueueUrl=aws_env.import_queue_url, AttributeNames=["All"])["Messages"]
    record = to_lambda_record(message, aws_env.import_queue_arn)
    # an early attempt: the record comes back (partial batch failure), the import is still running
    assert job({"Records": [record]}, LambdaContext()) == {"batchItemFailures": [{"itemIdentifier": record["messageId"]}]}
    assert call(admin, "GET", f"/admin/imports/users/{preview['id']}")[1]["status"] == "running"
    # the queue's last attempt (ApproximateReceiveCount = maxReceiveCount): the row is a failed row, the import failed
    record["attributes"]["ApproximateReceiveCount"] = "5"
    assert job({"Records": [record]}, LambdaContext()) == {"batchItemFailures": []}
    _, state = call(admin, "GET", f"/admin/imports/users/{preview['id']}")
    assert state["status"] == "failed" and state["applied"] == 1, state
    assert [f["row"] for f in state["failed_rows"]] == [3] and "RuntimeError" in state["failed_rows"][0]["errors"][0]["message"]
    assert set(users_by_name(admin)) == {"ok1"}
