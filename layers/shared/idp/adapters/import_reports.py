"""Import / match reports in DynamoDB: `IMPORT#{slug}#{report id}` / `REPORT` (the head: chunk count, TTL
`expires_at`, `confirmed_at` set once by a conditional write, so a report is confirmed at most once) and
`CHUNK#{n}` (the report as compressed JSON cut into pieces below DynamoDB's 400 KB item limit: measured with
random names, 2,000 SP users compress to about 230 KB, 10,000 to about 1.1 MB). Readers skip expired reports."""
from __future__ import annotations

import json
import time
import zlib
from typing import Callable

from boto3.dynamodb.conditions import Key
from boto3.dynamodb.types import Binary
from botocore.exceptions import ClientError

from idp.kernel.clock import now_iso

REPORT_TTL_SECONDS = 7 * 86400
CHUNK_BYTES = 300_000


def _pk(slug: str, rid: str) -> str:
    return f"IMPORT#{slug}#{rid}"


class DynamoImportReports:
    def __init__(self, table, clock: Callable[[], float] = time.time, ttl_seconds: int = REPORT_TTL_SECONDS):
        self.table = table
        self.clock = clock
        self.ttl_seconds = ttl_seconds

    def put(self, slug: str, rid: str, report: dict) -> None:
        body = zlib.compress(json.dumps(report, separators=(",", ":"), default=str).encode(), 6)
        chunks = [body[i:i + CHUNK_BYTES] for i in range(0, len(body), CHUNK_BYTES)] or [b""]
        expires = int(self.clock()) + self.ttl_seconds
        with self.table.batch_writer() as batch:
            for n, chunk in enumerate(chunks):
                batch.put_item(Item={"pk": _pk(slug, rid), "sk": f"CHUNK#{n:04d}", "body": Binary(chunk), "expires_at": expires})
        # the head last: a report is readable only once all of it is written
        self.table.put_item(Item={"pk": _pk(slug, rid), "sk": "REPORT", "chunks": len(chunks), "created_at": now_iso(),
                                  "expires_at": expires})

    def get(self, slug: str, rid: str) -> dict | None:
        """The report and when it was confirmed (None when unknown or expired)."""
        items, kwargs = [], {"KeyConditionExpression": Key("pk").eq(_pk(slug, rid)), "ConsistentRead": True}
        while True:
            page = self.table.query(**kwargs)
            items += page.get("Items", [])
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        head = next((i for i in items if i["sk"] == "REPORT"), None)
        if not head or int(head.get("expires_at", 0)) <= int(self.clock()):
            return None
        chunks = sorted((i for i in items if i["sk"].startswith("CHUNK#")), key=lambda i: i["sk"])
        if len(chunks) != int(head["chunks"]):
            return None
        raw = b"".join(c["body"].value if isinstance(c["body"], Binary) else bytes(c["body"]) for c in chunks)
        return {**json.loads(zlib.decompress(raw)), "confirmed_at": head.get("confirmed_at")}

    def mark_confirmed(self, slug: str, rid: str) -> bool:
        """Mark the report confirmed; False when it already was."""
        try:
            self.table.update_item(Key={"pk": _pk(slug, rid), "sk": "REPORT"}, UpdateExpression="SET confirmed_at = :now",
                                   ConditionExpression="attribute_exists(pk) AND attribute_not_exists(confirmed_at)",
                                   ExpressionAttributeValues={":now": now_iso()})
            return True
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
