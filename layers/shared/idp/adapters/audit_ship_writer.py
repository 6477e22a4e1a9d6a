"""AuditShipFunction's work (issue 25 item 5): a CloudWatch Logs subscription batch of SamlLoginFunction's log
lines in, the audit items its `{"idp_audit": <item>}` lines carry (idp.adapters.audit_shipping) written to the
directory table with BatchWriteItem.

The batch is `{"awslogs": {"data": base64(gzip(JSON))}}`, the JSON `{"logGroup", "logStream", "logEvents":
[{"id", "timestamp", "message"}]}` (CloudWatch Logs' shape; the local stack's shipper packs its spool the same
way). A message is kept only when it is a JSON object whose `idp_audit` is an audit item: pk
`AUDIT#{yyyy-mm-dd}#{shard}` whose day and shard are the event id's, sk that event id, `id` equal to it, a known
type and outcome, index keys (if any) of the audit log's own shapes. Anything else (a powertools log line, a
Lambda START/END/REPORT line, junk, a forged line naming another item kind) is logged by its position and
skipped, never written, so the function can only ever add audit events (its role allows no other key either).

Idempotent: an item is keyed by its event id, so a redelivered batch writes the same items again. A DynamoDB
failure raises: the asynchronous invocation is retried, then goes to the function's on-failure destination."""
from __future__ import annotations

import base64
import gzip
import json
import re
from typing import Any

from aws_lambda_powertools import Logger

from idp.adapters.audit_log import shard_of
from idp.adapters.audit_shipping import LINE_KEY
from idp.adapters.dynamo import put_items
from idp.kernel.audit import OUTCOMES
from idp.kernel.audit_log import iso_ms

log = Logger(child=True)

AUDIT_TYPES = frozenset({"login", "mfa", "sso", "logout", "lockout", "provisioning", "key"})
_EVENT_ID = re.compile(r"ev-(\d{13})[0-9a-f]{16}")
_PK = re.compile(r"AUDIT#(\d{4}-\d{2}-\d{2})#([0-9a-f])")
_MAX_MS = 10**13 - 1


def decode(event: dict[str, Any]) -> dict[str, Any]:
    """The subscription batch's JSON (ValueError for a payload that is not one)."""
    try:
        data = event["awslogs"]["data"]
        return json.loads(gzip.decompress(base64.b64decode(data)))
    except (KeyError, TypeError, OSError, ValueError) as exc:
        raise ValueError(f"not a CloudWatch Logs subscription batch: {type(exc).__name__}") from None


def encode(log_group: str, log_stream: str, messages: list[tuple[str, int, str]]) -> dict[str, Any]:
    """A subscription batch of (id, timestamp ms, message) in CloudWatch Logs' shape (the local shipper's, tests')."""
    body = {"messageType": "DATA_MESSAGE", "owner": "000000000000", "logGroup": log_group, "logStream": log_stream,
            "subscriptionFilters": ["audit-ship"],
            "logEvents": [{"id": i, "timestamp": ts, "message": m} for i, ts, m in messages]}
    return {"awslogs": {"data": base64.b64encode(gzip.compress(json.dumps(body).encode())).decode()}}


def audit_item(message: str) -> dict[str, Any] | None:
    """The audit item a log message carries, or None (not an `idp_audit` line, or not an audit item)."""
    try:
        line = json.loads(message)
    except ValueError:
        return None
    item = line.get(LINE_KEY) if isinstance(line, dict) else None
    return item if isinstance(item, dict) and _is_audit_item(item) else None


def _is_audit_item(item: dict[str, Any]) -> bool:
    sk = item.get("sk")
    match = _EVENT_ID.fullmatch(sk) if isinstance(sk, str) else None
    pk = _PK.fullmatch(item["pk"]) if isinstance(item.get("pk"), str) else None
    if match is None or pk is None or item.get("id") != sk:
        return False
    at = iso_ms(_MAX_MS - int(match.group(1)))
    if pk.group(1) != at[:10] or pk.group(2) != shard_of(sk) or item.get("at") != at:
        return False
    kind = item.get("type")
    if not isinstance(kind, str) or not (kind in AUDIT_TYPES or kind.startswith("admin.")):
        return False
    if item.get("outcome") not in OUTCOMES or not isinstance(item.get("expires_at"), int):
        return False
    user, app = item.get("user_id"), item.get("app")
    if ("gsi1pk" in item or "gsi1sk" in item) and (item.get("gsi1pk") != f"AUDIT#USER#{user}" or item.get("gsi1sk") != sk):
        return False
    if ("gsi2pk" in item or "gsi2sk" in item) and (
            item.get("gsi2pk") != f"AUDIT#APP#{app}#{shard_of(sk)}" or item.get("gsi2sk") != sk):
        return False
    return True


def ship(table: Any, event: dict[str, Any]) -> dict[str, int]:
    """Write the audit items of one subscription batch; the counts of written and skipped messages."""
    batch = decode(event)
    items: dict[str, dict[str, Any]] = {}
    skipped = 0
    for position, entry in enumerate(batch.get("logEvents") or []):
        message = entry.get("message") if isinstance(entry, dict) else None
        item = audit_item(message) if isinstance(message, str) else None
        if item is None:
            skipped += 1
            if isinstance(message, str) and LINE_KEY in message:  # an idp_audit line refused: worth a warning
                log.warning("audit line skipped: not an audit item", extra={"log_event": position})
            continue
        items[item["sk"]] = item  # a line delivered twice in one batch is one item (BatchWriteItem refuses twins)
    if items:
        put_items(table, list(items.values()))  # raises on failure: the invocation is retried
    log.info("audit lines shipped", extra={"written": len(items), "skipped": skipped,
                                           "log_group": batch.get("logGroup")})
    return {"written": len(items), "skipped": skipped}
