"""Binding a group publishes the group's event and one event per member; the consumer, handling the group's
event, sends the members' events again (for publishers that send the group's event alone). Both carry the
same deduplication ids (`idp.kernel.events.member_event_id`), so the queue keeps one event per member and
the consumers do not sync each member twice. Driven as deployed: the admin function's handler, the queue
in moto, the SCIM push function's consumer from the container."""
from __future__ import annotations

import json

import boto3
import pytest

STRONG = "Violet-Harbor-Lantern-42"


@pytest.fixture
def api(admin_handler):
    return admin_handler


def receive_all(queue_url: str) -> list[dict]:
    sqs, got = boto3.client("sqs"), []
    while batch := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0,
                                       AttributeNames=["All"]).get("Messages", []):
        got.extend(batch)
    return got


def as_record(message: dict, queue_arn: str) -> dict:
    return {"messageId": message["MessageId"], "receiptHandle": message["ReceiptHandle"], "body": message["Body"],
            "attributes": message["Attributes"], "messageAttributes": {}, "md5OfBody": message["MD5OfBody"],
            "eventSource": "aws:sqs", "eventSourceARN": queue_arn, "awsRegion": "us-east-1"}


def test_the_members_of_a_bound_group_are_queued_once(api, scim, aws_env):
    from idp.bootstrap import container

    api("POST", "/admin/apps", {"slug": "os", "label": "OS", "sp_entity_id": "os.example.com",
                                "acs_urls": ["https://os.example.com/saml/acs"]}, 201)
    api("PUT", "/admin/apps/os/provisioning", {"base_url": scim.base_url, "token": "secret", "enabled": True,
                                               "group_management": True}, 200)
    group = api("POST", "/admin/groups", {"name": "engineering"}, 201)
    uids = [api("POST", "/admin/users", {"username": f"m{i}", "email": f"m{i}@example.com", "firstname": "Member",
                                         "lastname": f"N{i}", "password": STRONG}, 201)["id"] for i in range(3)]
    for uid in uids:
        api("PUT", f"/admin/groups/{group['id']}/members/{uid}", status=204)
    sqs = boto3.client("sqs")
    for m in receive_all(aws_env.queue_url):  # what came before the binding
        sqs.delete_message(QueueUrl=aws_env.queue_url, ReceiptHandle=m["ReceiptHandle"])

    api("PUT", f"/admin/apps/os/groups/{group['id']}", status=204)
    published = receive_all(aws_env.queue_url)  # in flight now, as a consumer holds them
    bodies = [json.loads(m["Body"]) for m in published]
    assert sorted(b["id"] for b in bodies) == sorted([group["id"], *uids])
    (group_message,) = [m for m, b in zip(published, bodies) if b["id"] == group["id"]]

    # The push function's consumer handles the group's event alone: it pushes the group and sends the
    # members' events again (the consumer in the container sends them; it runs in a Lambda context).
    container().consumer.handle_batch({"Records": [as_record(group_message, aws_env.queue_arn)]}, None)
    for m in published:
        if m is not group_message:  # the members' own events come back (their visibility ends)
            sqs.change_message_visibility(QueueUrl=aws_env.queue_url, ReceiptHandle=m["ReceiptHandle"],
                                          VisibilityTimeout=0)
    queued = [json.loads(m["Body"]) for m in receive_all(aws_env.queue_url)]
    assert sorted(b["id"] for b in queued) == sorted(uids), queued  # one each, not two
