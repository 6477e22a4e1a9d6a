"""The container's DynamoDB table used from several threads at once (a parallel reconcile's workers):
boto3 builds `Key(...)`/`Attr(...)` conditions with one placeholder counter per resource, which each call
resets; `idp.adapters.aws.thread_safe_conditions` gives each thread its own. The interleaving that breaks
the shared one is forced here: thread B's call resets the counter between thread A's filter and its key
condition."""
import threading

import pytest
from boto3.dynamodb.conditions import Attr, ConditionExpressionBuilder, Key


@pytest.fixture
def tables(prov_aws_env):
    import boto3

    from idp.adapters.aws import AwsClients
    from idp_testing.aws import create_table

    create_table("threads-table")
    ours = AwsClients("us-east-1").table("threads-table")
    plain = boto3.resource("dynamodb", region_name="us-east-1").Table("threads-table")
    for i in range(3):
        ours.put_item(Item={"pk": "P#a", "sk": f"S#{i}", "colour": "blue" if i else "red"})
    return ours, plain


@pytest.fixture
def prov_aws_env(monkeypatch):
    for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1"}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    from moto import mock_aws

    with mock_aws():
        yield


def interleaved(table, monkeypatch) -> tuple[list, list]:
    """Thread A queries with a filter and a key condition; thread B's query resets the builder after A built
    its filter and before A builds its key condition. Returns (A's items, B's items), or the errors."""
    a_filter_built, b_reset, a_done = threading.Event(), threading.Event(), threading.Event()
    real_reset, real_build = ConditionExpressionBuilder.reset, ConditionExpressionBuilder.build_expression

    def reset(self):
        real_reset(self)
        if threading.current_thread().name == "B":
            b_reset.set()
            a_done.wait(2)

    def build(self, condition, is_key_condition=False):
        out = real_build(self, condition, is_key_condition)
        if threading.current_thread().name == "A" and not is_key_condition:
            a_filter_built.set()
            b_reset.wait(2)
        return out

    monkeypatch.setattr(ConditionExpressionBuilder, "reset", reset)
    monkeypatch.setattr(ConditionExpressionBuilder, "build_expression", build)
    got: dict[str, object] = {}

    def run_a():
        try:
            got["A"] = table.query(KeyConditionExpression=Key("pk").eq("P#a"), FilterExpression=Attr("colour").eq("blue"))["Items"]
        except Exception as exc:  # noqa: BLE001 - the answer under test
            got["A"] = exc
        finally:
            a_done.set()

    def run_b():
        a_filter_built.wait(2)
        got["B"] = table.query(KeyConditionExpression=Key("pk").eq("P#a"))["Items"]

    threads = [threading.Thread(target=run_a, name="A"), threading.Thread(target=run_b, name="B")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    return got["A"], got["B"]


def test_each_thread_builds_its_own_conditions(tables, monkeypatch):
    ours, _ = tables
    a, b = interleaved(ours, monkeypatch)
    assert sorted(i["sk"] for i in a) == ["S#1", "S#2"]
    assert len(b) == 3


def test_a_plain_resource_mixes_them_up(tables, monkeypatch):
    """Why: the same interleaving on boto3's own resource breaks thread A's query."""
    _, plain = tables
    a, _ = interleaved(plain, monkeypatch)
    assert isinstance(a, Exception) or sorted(i["sk"] for i in a) != ["S#1", "S#2"]
