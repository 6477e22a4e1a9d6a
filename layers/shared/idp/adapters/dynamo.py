"""DynamoDB item codec shared by the table adapters: Decimals, ids, TTLs and opaque page cursors."""
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


def decode_cursor(cursor: str | None) -> dict | None:
    if not cursor:
        return None
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        if isinstance(key, dict) and all(isinstance(v, str) for v in key.values()):
            return key
    except (ValueError, TypeError):
        pass
    raise DomainError(400, "invalid_cursor", "query parameter 'cursor' is not a cursor this API returned")


def from_ddb(value):
    """DynamoDB's Decimals back to int/float, recursively."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: from_ddb(v) for k, v in value.items()}
    if isinstance(value, list):
        return [from_ddb(v) for v in value]
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


def ttl_in(seconds: int) -> int:
    """An `expires_at` value `seconds` from now."""
    return int(time.time()) + seconds
