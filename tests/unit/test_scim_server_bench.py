"""The SCIM server's benchmark section (benchmarks/scim_server.py, `make bench --only scim`): measured samples and
counted calls become the rows and figures the report claims. No timing is asserted: the samples are made up."""
from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest
from benchmarks import scim_server
from benchmarks.common import percentile
from benchmarks.report import render

TALLY = {"ops": {"dynamodb.GetItem": 40, "dynamodb.TransactWriteItems": 20, "sqs.SendMessage": 20},
         "rru": 25.0, "wru": 60.0, "dynamodb": 60, "sqs": 20, "ssm": 0, "secretsmanager": 0}


def _results(rows: dict) -> dict:
    return {"quick": True, "sizes": {}, "machine": {}, "versions": {}, "started": "now", "total_s": 1.0,
            "scim": {"n": 20, "warmup": 3, "rounds": 5, "rows": rows}}


def test_a_run_becomes_a_row_of_percentiles_and_calls_per_request():
    seconds = [i / 1000 for i in range(1, 21)]  # 1 ms .. 20 ms
    row = scim_server.summarize(seconds, TALLY, aws_seconds=0.1)
    assert row["n"] == 20
    assert row["median_ms"] == pytest.approx(10.5)
    assert row["p95_ms"] == pytest.approx(19.0)  # nearest rank: the 19th of 20
    assert [percentile(list(range(1, n + 1)), 95) for n in (1, 2, 20, 100, 200)] == [1, 2, 19, 95, 190]
    assert row["dynamodb"] == 3.0 and row["sqs"] == 1.0
    assert row["rru"] == pytest.approx(1.25) and row["wru"] == 3.0
    assert row["ops"] == {"dynamodb.GetItem": 2.0, "dynamodb.TransactWriteItems": 1.0, "sqs.SendMessage": 1.0}
    assert row["aws_ms"] == pytest.approx(5.0)  # 100 ms in AWS calls over 20 requests


def test_the_report_has_a_row_per_kind_the_admin_reference_and_the_p50s_in_the_targets():
    create = scim_server.summarize([0.012] * 10 + [0.030] * 10, TALLY, 0.16)  # p50 21 ms, p95 30 ms, 8 ms in AWS
    admin = scim_server.summarize([0.010] * 20, {**TALLY, "dynamodb": 40, "ops": {"dynamodb.GetItem": 40}})
    found = scim_server.summarize([0.004] * 20, {"ops": {"dynamodb.Query": 20, "dynamodb.UpdateItem": 1}, "rru": 10.0,
                                                 "wru": 0.0, "dynamodb": 20, "sqs": 0})  # a rare write: 1 in 20
    text = render(_results({"create": create, "admin_create": admin, "filter": found}))
    lines = text.splitlines()
    assert "## 10. SCIM server of the identity sources: a request's p50 and its AWS calls" in lines
    assert "one untimed round of 3 users, then 20 users in 5 timed rounds" in text
    assert ("| `POST /scim/v2/Users` (user create) | 20 | 21.0 ms | 30.0 ms | reported | 8.0 of 21.0 ms | 3.0 | 1.2 | 3.0 | 1.0 | "
            "GetItem 2.0, TransactWriteItems 1.0, SendMessage 1.0 |") in lines
    assert ('| `GET /scim/v2/Users?filter=userName eq "…"` (filtered GET) | 20 | 4.0 ms | 4.0 ms | reported | 0.0 of 4.0 ms | 1.0 | 0.5 | '
            "0.0 | 0.0 | Query 1.0, UpdateItem 0.050 |") in lines
    assert any(line.startswith("| reference: `POST /admin/users` (the admin API's user create) | 20 | 10.0 ms | 10.0 ms | – | 0.0 of 10.0 ms | 2.0 |")
               for line in lines)
    assert not any("GET /scim/v2/Users/{id}" in line for line in lines)  # a kind not measured has no row
    assert ("A SCIM user create takes **2.10×** the admin API's (p50 21.0 ms against 10.0 ms), with +1.0 DynamoDB calls a "
            "request (by operation: TransactWriteItems +1.0, SendMessage +1.0) and +8.0 ms in AWS calls (means)") in text
    assert "| SCIM server: user create p50 (`POST /scim/v2/Users`) | 21.0 ms (admin API's create 10.0 ms) | reported |  |" in lines
    assert "| SCIM server: filtered GET p50 (`userName eq`) | 4.0 ms | reported |  |" in lines


def test_a_failed_section_says_so_and_keeps_its_target_rows():
    results = _results({})
    results["scim"] = {"error": "RuntimeError: the client failed", "traceback": "Traceback: boom"}
    text = render(results)
    assert "Not measured: `RuntimeError: the client failed`" in text
    assert "| SCIM server: user create p50 (`POST /scim/v2/Users`) | n/a | reported |  |" in text
    assert "scim:\n\n```\nTraceback: boom" in text


def test_each_kind_sends_the_request_it_is_named_after():
    ids = {"ada": "u-1"}
    create = scim_server.requests_for("create", "http://x", ["ada"], ids)[0]
    assert (create["method"], create["url"], create["expect"]) == ("POST", "http://x/scim/v2/Users", 201)
    assert json.loads(create["body"])["userName"] == "ada"
    found = scim_server.requests_for("filter", "http://x", ["ada"], ids)[0]
    assert parse_qs(urlsplit(found["url"]).query) == {"filter": ['userName eq "ada"']}
    assert found["check"] == {"totalResults": 1}
    off = scim_server.requests_for("deactivate", "http://x", ["ada"], ids)[0]
    assert (off["method"], off["url"], off["check"]) == ("PATCH", "http://x/scim/v2/Users/u-1", {"active": False})
    assert json.loads(off["body"])["Operations"] == [{"op": "replace", "path": "active", "value": False}]
    admin = scim_server.requests_for("admin_create", "http://x", ["ada"], ids)[0]
    assert admin["url"] == "http://x/admin/users" and json.loads(admin["body"])["username"] == "ada"
    with pytest.raises(ValueError, match="unknown kind"):
        scim_server.requests_for("delete", "http://x", ["ada"], ids)


def test_the_users_are_split_into_rounds_in_order_none_empty():
    names = [f"u{i}" for i in range(7)]
    assert scim_server.rounds(names, 3) == [["u0", "u1", "u2"], ["u3", "u4"], ["u5", "u6"]]
    assert scim_server.rounds(names[:2], 5) == [["u0"], ["u1"]]
    assert sum(scim_server.rounds([f"u{i}" for i in range(200)], 5), []) == [f"u{i}" for i in range(200)]


def test_the_aws_clock_sums_the_time_of_each_call_of_the_session():
    import boto3
    from moto import mock_aws

    with mock_aws():
        session = boto3.Session(region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing")
        clock = scim_server.AwsClock()
        clock.install(session)  # before the client is made: a client copies the session's hooks when it is made
        ddb = session.client("dynamodb")
        ddb.create_table(TableName="t", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                         AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
        assert clock.take() > 0  # the CreateTable
        for _ in range(3):
            ddb.get_item(TableName="t", Key={"pk": {"S": "x"}})
        taken = clock.take()
    assert 0 < taken < 30
    assert clock.take() == 0.0  # taken once
