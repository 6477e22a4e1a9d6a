"""The local stack's pieces without AWS: template reading and the SQS event source emulation."""
from pathlib import Path

from idp_local.cfn import load_template, resolve, resources_of_type
from idp_local.event_source import SqsEventSource

ROOT = Path(__file__).resolve().parents[2]


def test_template_short_tags_are_read_and_resolved():
    template = load_template(ROOT / "template.yaml")
    assert "DirectoryTable" in resources_of_type(template, "AWS::DynamoDB::Table")
    value = resolve({"Fn::Sub": "/${AWS::StackName}/apps"}, {}, {}, "stack")
    assert value == "/stack/apps"
    assert resolve({"Fn::GetAtt": ["Q", "Arn"]}, {}, {("Q", "Arn"): "arn:q"}, "s") == "arn:q"
    assert resolve({"Ref": "T"}, {"T": "table-1"}, {}, "s") == "table-1"


class FakeQueue:
    def __init__(self, messages):
        self.messages = messages
        self.deleted = []

    def receive_message(self, **kw):
        batch, self.messages = self.messages[: kw["MaxNumberOfMessages"]], self.messages[kw["MaxNumberOfMessages"]:]
        return {"Messages": batch}

    def delete_message_batch(self, QueueUrl, Entries):
        self.deleted.extend(e["ReceiptHandle"] for e in Entries)


def _msgs(n):
    return [{"MessageId": f"m{i}", "ReceiptHandle": f"r{i}", "Body": "{}", "Attributes": {}} for i in range(n)]


def test_only_records_not_reported_as_failures_are_deleted():
    queue = FakeQueue(_msgs(3))
    seen = []

    def handler(event, context):
        seen.append([r["messageId"] for r in event["Records"]])
        return {"batchItemFailures": [{"itemIdentifier": "m1"}]}

    source = SqsEventSource(queue, "url", "arn", handler, batch_size=10)
    assert source.poll_once() == 3
    assert seen == [["m0", "m1", "m2"]] and queue.deleted == ["r0", "r2"]


def test_a_raising_handler_leaves_the_whole_batch_on_the_queue():
    queue = FakeQueue(_msgs(2))

    def handler(event, context):
        raise RuntimeError("boom")

    assert SqsEventSource(queue, "url", "arn", handler).poll_once() == 2
    assert queue.deleted == []


def test_the_local_stack_will_not_expose_published_secrets():
    from idp_local.stack import DEV_ADMIN_TOKEN, StackConfig

    assert StackConfig(host="127.0.0.1").exposure_problem() is None
    assert StackConfig(host="localhost").exposure_problem() is None
    exposed = StackConfig(host="0.0.0.0", admin_token=DEV_ADMIN_TOKEN, demo=True).exposure_problem()
    assert "admin token" in exposed and "DEMO=0" in exposed and "ADMIN_TOKEN" in exposed
    assert "demo" in StackConfig(host="192.168.1.20", admin_token="a-real-token", demo=True).exposure_problem()
    assert "admin token" in StackConfig(host="0.0.0.0", admin_token=DEV_ADMIN_TOKEN, demo=False).exposure_problem()
    assert StackConfig(host="0.0.0.0", admin_token="a-real-token", demo=False).exposure_problem() is None
    assert StackConfig(host="0.0.0.0", admin_token=DEV_ADMIN_TOKEN, demo=True, exposed_ok=True).exposure_problem() is None


def test_the_local_stack_exits_before_listening_when_exposed():
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k not in ("ADMIN_TOKEN", "DEMO", "IDP_LOCAL_EXPOSED_OK")}
    env.update(HOST="0.0.0.0", PORT="1")  # port 1 would fail to bind: it must not get that far
    proc = subprocess.run([sys.executable, "-m", "idp_local"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "refusing to listen on 0.0.0.0" in proc.stderr, proc.stderr[-2000:]
