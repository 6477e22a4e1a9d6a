"""DynamoDB item codec shared by the table adapters: Decimals, ids, TTLs and opaque page cursors; and the
two write idioms several adapters share (a batch of puts, a transaction cancelled by a condition)."""
from __future__ import annotations

import base64
import json
import time
import uuid
from decimal import Decimal

from idp.kernel.errors import DomainError


def new_id(prefix: str) -> str:
    """Ids say what they name (`u-…`, `g-…`), so an event consumer can tell a user from a group."""
    return f"{prefix}-{uuid.uuid4().hex[:24]}"


def encode_cursor(key: dict | None) -> str | None:
    if not key:
        return None
    return base64.urlsafe_b64encode(json.dumps(key, separators=(",", ":")).encode()).decode()


def decode_cursor(cursor: str | None, shape: dict[str, str] | None = None) -> dict | None:
    """The DynamoDB start key a cursor this API returned stands for, or a 400 naming `cursor`.

    `shape` maps each key attribute the listing's key has to the prefix its value must start with
    (the exact partition value, or a sort-key prefix): a cursor from another listing, or one a client
    forged, is refused here instead of reaching DynamoDB and failing there."""
    if not cursor:
        return None
    bad = DomainError(400, "invalid_cursor", "query parameter 'cursor' is not a cursor this API returned")
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, TypeError):
        raise bad from None
    if not isinstance(key, dict) or not key or not all(isinstance(k, str) and isinstance(v, str) for k, v in key.items()):
        raise bad
    if shape is not None and (set(key) != set(shape) or not all(key[k].startswith(prefix) for k, prefix in shape.items())):
        raise bad
    return key


def from_ddb(value):
    """DynamoDB's Decimals back to int/float, recursively."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: from_ddb(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [from_ddb(v) for v in value]
    if isinstance(value, set):  # a string or number set
        return {from_ddb(v) for v in value}
    return value


def to_ddb(value):
    """Floats to Decimal, recursively (boto3 refuses floats)."""
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, dict):
        return {k: to_ddb(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_ddb(v) for v in value]
    return value


def put_items(table, items: list[dict]) -> None:
    """Write `items`: one PutItem for one, else BatchWriteItem 25 at a time (batch_writer sends its
    UnprocessedItems again)."""
    if len(items) == 1:
        table.put_item(Item=items[0])
        return
    with table.batch_writer() as writer:
        for item in items:
            writer.put_item(Item=item)


def cancelled_by_a_condition(exc) -> bool:
    """A ClientError of TransactWriteItems cancelled because one of its conditions failed."""
    return exc.response["Error"]["Code"] == "TransactionCanceledException" and any(
        r.get("Code") == "ConditionalCheckFailed" for r in exc.response.get("CancellationReasons") or [])


def ttl_in(seconds: int) -> int:
    """An `expires_at` value `seconds` from now."""
    return int(time.time()) + seconds
