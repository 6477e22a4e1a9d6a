"""CSV imports of users in DynamoDB (idp.directory.ports.UserImportStore), and the job's queue (SQS).

Items, all under ``USERIMPORT#{id}`` with TTL ``expires_at`` 7 days after the preview:

- ``HEAD``: summary, chunk count, created_at; ``confirmed_at``, ``confirmed_by`` and ``send_activation`` set
  once by a conditional write (a preview is confirmed at most once);
- ``CHUNK#{n}``: the rows chunk n of the job applies (idp.directory.user_imports.CHUNK_ROWS of them) as
  zlib-compressed JSON. Why chunks in DynamoDB: the stack has no S3 bucket, the API Gateway payload limit
  (10 MB) lets a 10,000-row file through whole, but 10,000 planned rows are ~1.5-3 MB of JSON, several times a
  DynamoDB item's 400 KB even compressed (~0.5 MB). One item per job message keeps each far below the limit
  (250 rows: ~10-20 KB compressed) and lets each message read only its own rows (one GetItem);
- ``RESULT#{n}``: what applying chunk n did (applied, failed rows), written once (``attribute_not_exists``).

The preview also reads the directory: every user (one gsi1 Query, 1 MB pages) and the released-name markers
of the names the file would claim (BatchGetItem, 100 keys a call)."""
from __future__ import annotations

import json
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Iterable

from boto3.dynamodb.conditions import Key
from boto3.dynamodb.types import Binary
from botocore.exceptions import ClientError

from idp.adapters.dynamo import from_ddb
from idp.adapters.released_names import ReleasedNames
from idp.directory.models import USER_FIELDS
from idp.kernel.clock import now_iso

TTL_SECONDS = 7 * 86400
_USER_ATTRIBUTES = ("id", *USER_FIELDS)


def _pk(import_id: str) -> str:
    return f"USERIMPORT#{import_id}"


class DynamoUserImportStore:
    def __init__(self, table: Any, clock: Callable[[], float] = time.time, ttl_seconds: int = TTL_SECONDS) -> None:
        self.table = table
        self.clock = clock
        self.ttl_seconds = ttl_seconds

    # ------------------------------------------------------------------ the directory, read for a preview
    def users(self) -> Iterable[dict]:
        names = {f"#a{i}": a for i, a in enumerate(_USER_ATTRIBUTES)}
        kwargs: dict[str, Any] = {"IndexName": "gsi1", "KeyConditionExpression": Key("gsi1pk").eq("USERS"),
                                  "ProjectionExpression": ", ".join(names), "ExpressionAttributeNames": names}
        while True:
            page = self.table.query(**kwargs)
            for item in page.get("Items", []):
                yield {k: from_ddb(v) for k, v in item.items()}
            if "LastEvaluatedKey" not in page:
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def released_names(self, names: list[str]) -> dict[str, dict]:
        keys = [ReleasedNames.released_key(n) for n in dict.fromkeys(names)]
        batches = [keys[i:i + 100] for i in range(0, len(keys), 100)]
        found: dict[str, dict] = {}
        # Four BatchGetItems at a time (the table's client is thread-safe): 20,000 names are 200 calls.
        with ThreadPoolExecutor(max_workers=4) as pool:
            for items in pool.map(self._batch_get, batches):
                for item in items:
                    found[item["pk"].split("#", 2)[2]] = {k: from_ddb(item[k]) for k in ("owner", "released_at", "until")
                                                          if k in item}
        return found

    def _batch_get(self, keys: list[dict]) -> list[dict]:
        client, out = self.table.meta.client, []
        request: dict = {self.table.name: {"Keys": keys, "ProjectionExpression": "pk, #o, released_at, #u",
                                           "ExpressionAttributeNames": {"#o": "owner", "#u": "until"}}}
        while request:
            answer = client.batch_get_item(RequestItems=request)
            out += answer.get("Responses", {}).get(self.table.name, [])
            request = answer.get("UnprocessedKeys") or {}
        return out

    # ------------------------------------------------------------------ the import
    def save_preview(self, import_id: str, head: dict, chunks: list[list[dict]]) -> None:
        expires = int(self.clock()) + self.ttl_seconds
        with self.table.batch_writer() as batch:
            for n, rows in enumerate(chunks):
                body = zlib.compress(json.dumps(rows, separators=(",", ":")).encode(), 6)
                batch.put_item(Item={"pk": _pk(import_id), "sk": f"CHUNK#{n:04d}", "rows": Binary(body), "expires_at": expires})
        # the head last: an import is readable only once all of it is written
        self.table.put_item(Item={"pk": _pk(import_id), "sk": "HEAD", **head, "expires_at": expires})

    def head(self, import_id: str) -> dict | None:
        item = self.table.get_item(Key={"pk": _pk(import_id), "sk": "HEAD"}, ConsistentRead=True).get("Item")
        if not item or int(item.get("expires_at", 0)) <= int(self.clock()):
            return None
        return {k: from_ddb(v) for k, v in item.items() if k not in ("pk", "sk")}

    def confirm(self, import_id: str, changes: dict) -> bool:
        names = {f"#c{i}": k for i, k in enumerate(changes)}
        values = {f":c{i}": v for i, v in enumerate(changes.values())}
        sets = ", ".join(f"{n} = {v}" for n, v in zip(names, values))
        kwargs: dict[str, Any] = {"ExpressionAttributeNames": names} if names else {}
        try:
            self.table.update_item(Key={"pk": _pk(import_id), "sk": "HEAD"},
                                   UpdateExpression=f"SET confirmed_at = :now, {sets}" if sets else "SET confirmed_at = :now",
                                   ConditionExpression="attribute_exists(pk) AND attribute_not_exists(confirmed_at)",
                                   ExpressionAttributeValues={":now": now_iso(), **values}, **kwargs)
            return True
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise

    def unconfirm(self, import_id: str) -> None:
        self.table.update_item(Key={"pk": _pk(import_id), "sk": "HEAD"}, UpdateExpression="REMOVE confirmed_at")

    def chunk(self, import_id: str, n: int) -> list[dict]:
        item = self.table.get_item(Key={"pk": _pk(import_id), "sk": f"CHUNK#{n:04d}"}).get("Item")
        if not item:
            return []
        body = item["rows"]
        return json.loads(zlib.decompress(bytes(getattr(body, "value", body))))

    def chunk_result(self, import_id: str, n: int) -> dict | None:
        item = self.table.get_item(Key={"pk": _pk(import_id), "sk": f"RESULT#{n:04d}"}, ConsistentRead=True).get("Item")
        return json.loads(item["result"]) if item else None

    def finish_chunk(self, import_id: str, n: int, result: dict) -> bool:
        try:
            self.table.put_item(Item={"pk": _pk(import_id), "sk": f"RESULT#{n:04d}", "result": json.dumps(result),
                                      "expires_at": int(self.clock()) + self.ttl_seconds},
                                ConditionExpression="attribute_not_exists(pk)")
            return True
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise

    def results(self, import_id: str) -> list[dict]:
        items, kwargs = [], {"KeyConditionExpression": Key("pk").eq(_pk(import_id)) & Key("sk").begins_with("RESULT#"),
                             "ConsistentRead": True}
        while True:
            page = self.table.query(**kwargs)
            items += page.get("Items", [])
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return [json.loads(i["result"]) for i in items]


class SqsImportJobQueue:
    """The import job's queue (IMPORT_QUEUE_URL, a standard queue: chunks are independent and run in parallel)."""

    def __init__(self, sqs: Any, queue_url: str) -> None:
        self.sqs = sqs
        self.queue_url = queue_url

    def enqueue(self, import_id: str, chunks: int) -> None:
        if chunks and not self.queue_url:
            raise RuntimeError("IMPORT_QUEUE_URL is not set")
        for start in range(0, chunks, 10):
            entries = [{"Id": str(n), "MessageBody": json.dumps({"import_id": import_id, "chunk": n})}
                       for n in range(start, min(start + 10, chunks))]
            answer = self.sqs.send_message_batch(QueueUrl=self.queue_url, Entries=entries)
            if answer.get("Failed"):
                raise RuntimeError(f"{len(answer['Failed'])} import job message(s) not queued")
