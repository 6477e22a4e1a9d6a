"""The CSV import job's SQS consumer (ImportJobFunction; the local stack runs it as Lambda's event source mapping
would): each record is ``{"import_id", "chunk"}``; a record whose chunk raised is reported in
``batchItemFailures`` (partial batch response), so SQS delivers it again and its DLQ takes it after the queue's
maxReceiveCount. The attempt the queue counts as the last one (``max_receive_count``) reports the rows it cannot
apply as failed instead of raising, so the import's status ends ``failed`` rather than ``running`` for ever."""
from __future__ import annotations

import json
from typing import TypedDict

from aws_lambda_powertools import Logger

from idp.directory.user_imports import UserImports

log = Logger(child=True)


class ItemFailure(TypedDict):
    itemIdentifier: str


class BatchResponse(TypedDict):
    batchItemFailures: list[ItemFailure]


def handle_batch(imports: UserImports, event: dict, max_receive_count: int) -> BatchResponse:
    failures: list[ItemFailure] = []
    for record in event.get("Records", []):
        message_id = str(record.get("messageId", ""))
        try:
            body = json.loads(record["body"])
            import_id, chunk = str(body["import_id"]), int(body["chunk"])
        except (KeyError, TypeError, ValueError):
            log.error("import job message %s is not {import_id, chunk}; dropped", message_id)
            continue
        attempt = int((record.get("attributes") or {}).get("ApproximateReceiveCount", 1))
        try:
            imports.apply_chunk(import_id, chunk, last_attempt=attempt >= max_receive_count)
        except Exception:  # this record comes back (partial batch failure); the others are done
            log.exception("CSV import %s chunk %d failed (attempt %d of %d); SQS delivers it again", import_id, chunk,
                          attempt, max_receive_count)
            failures.append({"itemIdentifier": message_id})
    return {"batchItemFailures": failures}
