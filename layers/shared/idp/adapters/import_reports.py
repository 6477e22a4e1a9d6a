"""Import / match reports in DynamoDB: `IMPORT#{slug}#{report id}` / `REPORT`, the report as compressed JSON
(a few thousand rows stay far below the 400 KB item limit), TTL `expires_at` (readers skip expired ones),
and `confirmed_at`, set once by a conditional write (a report is confirmed at most once)."""
from __future__ import annotations

import json
import time
import zlib
from typing import Callable

from boto3.dynamodb.types import Binary
from botocore.exceptions import ClientError

from idp.kernel.clock import now_iso

REPORT_TTL_SECONDS = 7 * 86400


def _key(slug: str, rid: str) -> dict:
    return {"pk": f"IMPORT#{slug}#{rid}", "sk": "REPORT"}


class DynamoImportReports:
    def __init__(self, table, clock: Callable[[], float] = time.time, ttl_seconds: int = REPORT_TTL_SECONDS):
        self.table = table
        self.clock = clock
        self.ttl_seconds = ttl_seconds

    def put(self, slug: str, rid: str, report: dict) -> None:
        body = zlib.compress(json.dumps(report, separators=(",", ":"), default=str).encode(), 6)
        self.table.put_item(Item={**_key(slug, rid), "body": Binary(body), "created_at": now_iso(),
                                  "expires_at": int(self.clock()) + self.ttl_seconds})

    def get(self, slug: str, rid: str) -> dict | None:
        """The report and whether it was confirmed (None when unknown or expired)."""
        item = self.table.get_item(Key=_key(slug, rid), ConsistentRead=True).get("Item")
        if not item or int(item.get("expires_at", 0)) <= int(self.clock()):
            return None
        raw = item["body"].value if isinstance(item["body"], Binary) else bytes(item["body"])
        return {**json.loads(zlib.decompress(raw)), "confirmed_at": item.get("confirmed_at")}

    def mark_confirmed(self, slug: str, rid: str) -> bool:
        """Mark the report confirmed; False when it already was."""
        try:
            self.table.update_item(Key=_key(slug, rid), UpdateExpression="SET confirmed_at = :now",
                                   ConditionExpression="attribute_exists(pk) AND attribute_not_exists(confirmed_at)",
                                   ExpressionAttributeValues={":now": now_iso()})
            return True
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
