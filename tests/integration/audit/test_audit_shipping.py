"""The SSO's audit events off the request path (issue 25 item 5): the writer (AuditShipFunction's handler) fed a
real-shaped CloudWatch Logs subscription batch writes exactly the audit items its lines carry, the same items
again when the batch comes twice, readable through the audit log as a direct write is; and the login function's
container built from Settings with AUDIT_SSO_DELIVERY=log answers an SSO with no DynamoDB write, one line in
its spool, which, delivered through the writer, is the event GET /admin/events shows."""
from __future__ import annotations

import json
import time
from pathlib import Path

import boto3
import pytest

from idp import bootstrap
from idp.adapters.audit_log import DynamoAuditLog
from idp.adapters.audit_ship_writer import encode
from idp.adapters.audit_shipping import ShippedAuditLog, SpoolLines, line_of
from idp.bootstrap import container
from idp.kernel.audit import Actor, AuditEvent
from idp.kernel.audit_log import AuditQuery
from idp_testing.lambda_client import LambdaClient, form_login, load
from idp_testing.lambda_events import LambdaContext, http_event

GROUP = "/aws/lambda/test/saml-login"
_KEYS = ("pk", "sk", "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk", "expires_at")


def _event(user: str = "u-1", app: str = "officespace") -> AuditEvent:
    return AuditEvent("sso", actor=Actor("user", user), user_id=user, app=app, ip="198.51.100.7", user_agent="ua/1",
                      detail={"acs": "https://sp.example/acs", "sp_initiated": False})


def _batch(messages: list[str]) -> dict:
    now = int(time.time() * 1000)
    return encode(GROUP, "2026/12/07/[$LATEST]abc", [(str(36000000 + i), now, m) for i, m in enumerate(messages)])


def _audit_items(table) -> list[dict]:
    items = table.scan()["Items"]
    return sorted((i for i in items if i["pk"].startswith("AUDIT#")), key=lambda i: i["sk"])


def _admin_events(**query) -> list[dict]:
    answer = load("admin_api")(http_event("GET", "/admin/events", query={"limit": "500", **query}), LambdaContext())
    assert answer["statusCode"] == 200, answer["body"]
    return json.loads(answer["body"])["items"]


def test_the_writer_writes_exactly_the_audit_items_of_a_mixed_batch_and_again_the_same(aws_env):
    bootstrap.reset()
    table = container().table
    log = DynamoAuditLog(table)
    shipped = [log.item_of(_event("u-1")), log.item_of(AuditEvent("login", user_id="u-2", reason=None))]
    forged_user = dict(shipped[0], pk="USER#u-1", sk="PROFILE")
    forged_shard = dict(shipped[0], pk=shipped[0]["pk"][:-1] + format((int(shipped[0]["pk"][-1], 16) + 1) % 16, "x"))
    forged_type = dict(shipped[0], type="password_reset_token")
    messages = [
        "START RequestId: 6f1b Version: $LATEST",
        json.dumps({"level": "INFO", "location": "answer:120", "message": "sso answered", "timestamp":
                    "2026-12-07 15:00:00,000+0000", "service": "officespace-idp", "app": "officespace"}),
        line_of(shipped[0]) + "\n",  # CloudWatch keeps the newline print wrote
        "not json {",
        json.dumps({"idp_audit": forged_user}),
        json.dumps({"idp_audit": forged_shard}),
        json.dumps({"idp_audit": forged_type}),
        json.dumps({"idp_audit": "AUDIT#2026-12-07#0"}),
        json.dumps(["idp_audit"]),
        line_of(shipped[1]),
        "END RequestId: 6f1b",
    ]
    handler = load("audit_ship")
    assert handler(_batch(messages), LambdaContext()) == {"written": 2, "skipped": 9}
    first = _audit_items(table)
    assert first == sorted(shipped, key=lambda i: i["sk"])  # exactly the shipped items, nothing forged
    assert not [i for i in table.scan()["Items"] if not i["pk"].startswith("AUDIT#")]  # no USER# item appeared
    assert handler(_batch(messages), LambdaContext()) == {"written": 2, "skipped": 9}  # redelivered
    assert _audit_items(table) == first

    # readable as a direct write of the same event is: every field but its own id and time
    log.record(_event("u-1"))
    views, _ = log.query(AuditQuery(type="sso"))
    direct, via_log = sorted(views, key=lambda v: v["id"] != shipped[0]["sk"])[::-1]
    assert via_log["id"] == shipped[0]["sk"] and direct["id"] != via_log["id"]
    assert via_log == {k: v for k, v in shipped[0].items() if k not in _KEYS}
    assert set(direct) == set(via_log)
    for name in direct:
        if name not in ("id", "at"):
            assert direct[name] == via_log[name], name
    assert [v["id"] for v in log.query(AuditQuery(user_id="u-1"))[0]] == [v["id"] for v in views]
    assert shipped[0]["sk"] in [v["id"] for v in log.query(AuditQuery(app="officespace"))[0]]


def test_a_batch_that_is_not_a_subscription_payload_is_refused(aws_env):
    bootstrap.reset()
    with pytest.raises(ValueError, match="not a CloudWatch Logs subscription batch"):
        load("audit_ship")({"awslogs": {"data": "bm90IGd6aXA="}}, LambdaContext())


def test_a_dynamodb_failure_raises_so_the_invocation_is_retried(aws_env):
    bootstrap.reset()
    log = DynamoAuditLog(container().table)
    line = line_of(log.item_of(_event()))

    def refuse(**_):
        raise RuntimeError("DynamoDB unavailable")

    container().table.meta.client.meta.events.register("before-call.dynamodb.PutItem", refuse)
    with pytest.raises(RuntimeError, match="unavailable"):
        load("audit_ship")(_batch([line]), LambdaContext())


class _Counted:
    """The audit metrics' two calls, counted (AuditMetrics emits EMF; here only the calls matter)."""

    def __init__(self) -> None:
        self.shipped: list[str] = []
        self.failed: list[str] = []

    def recorded(self, event: AuditEvent) -> None:
        self.shipped.append(event.type)

    def write_failed(self, event: AuditEvent) -> None:
        self.failed.append(event.type)


def test_a_shipped_line_that_cannot_be_written_never_breaks_the_sign_in(aws_env, tmp_path):
    bootstrap.reset()
    (tmp_path / "spool").mkdir()
    metrics = _Counted()
    log = DynamoAuditLog(container().table, metrics=metrics)
    sink = ShippedAuditLog(log, SpoolLines(str(tmp_path / "spool")), metrics=metrics)
    sink.record(_event())  # a directory, not a file: the write fails, is logged and counted, not raised
    with sink.batched():
        sink.record(_event())
    assert metrics.failed == ["sso", "sso"] and metrics.shipped == []
    good = ShippedAuditLog(log, SpoolLines(str(tmp_path / "spool" / "audit.spool")), metrics=metrics)
    with good.batched():  # lines go out as events are recorded: nothing is held back in a block
        good.record(_event())
        assert len((tmp_path / "spool" / "audit.spool").read_text().splitlines()) == 1
    assert metrics.shipped == ["sso"]


@pytest.fixture
def shipped(env, monkeypatch, tmp_path):
    """The login function's container from Settings with AUDIT_SSO_DELIVERY=log, spooling to a file, every
    DynamoDB write call of its clients counted."""
    monkeypatch.setenv("AUDIT_SSO_DELIVERY", "log")
    monkeypatch.setenv("AUDIT_SPOOL_PATH", str(tmp_path / "audit.spool"))
    boto3.setup_default_session()
    env.writes = []
    boto3.DEFAULT_SESSION.events.register(
        "before-call.dynamodb", lambda model, **_: env.writes.append(model.name) if model.name in (
            "PutItem", "BatchWriteItem", "UpdateItem", "DeleteItem", "TransactWriteItems") else None)
    bootstrap.reset()
    env.spool = Path(tmp_path / "audit.spool")
    assert isinstance(container().sso_audit, ShippedAuditLog)
    return env




def test_an_sso_from_a_live_session_writes_nothing_to_dynamodb_and_one_line(shipped):
    client = LambdaClient(shipped.resolver)
    assert form_login(client, client.request("GET", "/login")).status == 200
    before = [e["id"] for e in _admin_events(type="sso")]
    shipped.writes.clear()
    lines_before = shipped.spool.read_text().splitlines() if shipped.spool.exists() else []

    answer = client.request("GET", "/saml2/officespace")  # IdP-initiated: no AuthnRequest to remember
    assert answer.status == 200 and "SAMLResponse" in answer.text
    assert shipped.writes == []  # no DynamoDB write call in the request
    new = shipped.spool.read_text().splitlines()[len(lines_before):]
    assert len(new) == 1
    item = json.loads(new[0])["idp_audit"]
    assert (item["type"], item["outcome"], item["user_id"], item["app"]) == ("sso", "success", shipped.user["id"],
                                                                            "officespace")
    assert [e["id"] for e in _admin_events(type="sso")] == before  # not in the log until delivered

    assert load("audit_ship")(_batch(new), LambdaContext())["written"] == 1
    (event,) = [e for e in _admin_events(type="sso") if e["id"] not in before]
    assert event == {k: v for k, v in item.items() if k not in _KEYS}
    assert event["detail"]["sp_initiated"] is False


def test_the_default_delivery_is_direct_and_a_bad_value_names_the_variable(aws_env, monkeypatch):
    from idp.settings import Settings, SettingsError

    monkeypatch.delenv("AUDIT_SSO_DELIVERY", raising=False)
    bootstrap.reset()
    assert container().sso_audit is container().audit
    monkeypatch.setenv("AUDIT_SSO_DELIVERY", "stdout")
    with pytest.raises(SettingsError, match="AUDIT_SSO_DELIVERY"):
        Settings.load()
    bootstrap.reset()


def test_in_aws_the_line_goes_to_stdout_and_the_writer_takes_it_from_there(aws_env, monkeypatch, capsys):
    """The container as the login function's in AWS (AUDIT_SSO_DELIVERY=log, no spool): one line on stdout."""
    monkeypatch.setenv("AUDIT_SSO_DELIVERY", "log")
    monkeypatch.delenv("AUDIT_SPOOL_PATH", raising=False)
    bootstrap.reset()
    capsys.readouterr()
    container().sso_audit.record(_event("u-7"))
    (line,) = capsys.readouterr().out.splitlines()
    assert load("audit_ship")(_batch([line]), LambdaContext())["written"] == 1
    (view,) = container().audit.query(AuditQuery(user_id="u-7"))[0]
    assert view["id"] == json.loads(line)["idp_audit"]["sk"] and view["type"] == "sso"
    bootstrap.reset()
