"""The change-event queue over SQS (idp.provisioning.ports.EventQueue): what the provisioning consumer sends
and the visibility it changes, as SQS API calls."""
from __future__ import annotations

from typing import Any

from idp.provisioning.ports import QueueMessage


class SqsEventQueue:
    def __init__(self, sqs: Any) -> None:
        self.sqs = sqs

    def url_of(self, name: str, account: str) -> str:
        return str(self.sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"])

    def set_visibility(self, url: str, receipt_handle: str, seconds: int) -> None:
        self.sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=receipt_handle, VisibilityTimeout=seconds)

    def send(self, url: str, message: QueueMessage) -> None:
        self.sqs.send_message(QueueUrl=url, **_params(message))

    def send_batch(self, url: str, messages: list[QueueMessage]) -> list[str]:
        entries = [{"Id": str(n), **_params(m)} for n, m in enumerate(messages)]
        failed = self.sqs.send_message_batch(QueueUrl=url, Entries=entries).get("Failed") or []
        return [str(f.get("Message") or f.get("Code") or "not sent") for f in failed]


def _params(message: QueueMessage) -> dict[str, Any]:
    params: dict[str, Any] = {"MessageBody": message.body}
    if message.group:
        params["MessageGroupId"] = message.group
        if message.dedup_id:
            params["MessageDeduplicationId"] = message.dedup_id
    elif message.delay_seconds:
        params["DelaySeconds"] = message.delay_seconds
    return params
