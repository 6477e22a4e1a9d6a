"""The provisioning log in DynamoDB: `PLOG#{slug}#USER#{uid}` / `PLOG#{slug}#GROUP#{gid}`, sk
`{iso}#{seq}{random}` (newest first, in write order within a millisecond), gsi1pk `PLOG#{slug}` for the app-wide view, TTL `expires_at` (readers skip expired
entries: TTL deletion lags, and the local stack has none). Entries are held by the write buffer while it buffers."""
from __future__ import annotations

import itertools
import json
import secrets
from typing import Any, Callable

from boto3.dynamodb.conditions import Attr, Key

from idp.adapters.dynamo import decode_cursor, encode_cursor, from_ddb
from idp.adapters.provisioning.buffer import DynamoWriteBuffer
from idp.kernel.audit import AuditEvent, AuditSink, NullAudit
from idp.kernel.clock import now_iso_ms as now_iso

LOG_TTL_SECONDS = 30 * 24 * 3600
# The sort key after the millisecond: this process's write order (so one consumer's entries of one
# millisecond stay in the order it wrote them), then a few random bytes (so two processes never collide).
_SEQ = itertools.count()
# Log outcomes that are failures in the audit log (success, conflict then adopt, not_found then re-match are steps).
FAILED_OUTCOMES = frozenset({"failed", "retry", "auth_failed", "halted"})


class DynamoProvisioningLog:
    def __init__(self, table, buffer: DynamoWriteBuffer, clock: Callable[[], float], audit: AuditSink | None = None):
        self.table = table
        self.buffer = buffer
        self.clock = clock
        # Each entry is also a `provisioning` audit event carrying the entry's key (`log_key`): the log keeps
        # what was sent and answered, the audit log points at it (one truth, two views).
        self.audit: AuditSink = audit or NullAudit()

    def log(self, slug: str, kind: str, eid: str, *, action: str, outcome: str, request: dict | None = None,
            sp_status: int | None = None, sp_message: str | None = None, detail: str | None = None) -> None:
        ts = now_iso()
        sk = f"{ts}#{next(_SEQ):012x}{secrets.token_hex(2)}"
        item: dict[str, Any] = {
            "pk": f"PLOG#{slug}#{kind}#{eid}", "sk": sk, "gsi1pk": f"PLOG#{slug}", "gsi1sk": sk,
            "kind": kind.lower(), "entity_id": eid, "app": slug, "at": ts, "action": action, "outcome": outcome,
            "expires_at": int(self.clock()) + LOG_TTL_SECONDS,
        }
        if request is not None:
            item["request"] = json.dumps(request, default=str)[:4000]
        if sp_status is not None:
            item["sp_status"] = int(sp_status)
        if sp_message:
            item["sp_message"] = sp_message[:1000]
        if detail:
            item["detail"] = detail[:1000]
        self.audit.record(AuditEvent(
            "provisioning", "failure" if outcome in FAILED_OUTCOMES else "success", user_id=eid if kind == "USER" else None,
            app=slug, reason=outcome if outcome in FAILED_OUTCOMES else None,
            detail={"action": action, "log_key": f"{item['pk']}|{sk}", "sp_status": item.get("sp_status"),
                    **({"group_id": eid} if kind == "GROUP" else {})}))
        if self.buffer.buffering:
            self.buffer.hold_log(item)
            return
        self.table.put_item(Item=item)

    def read_log(self, slug: str, *, user_id: str | None = None, group_id: str | None = None,
                 limit: int = 50) -> list[dict]:
        """Newest first; expired entries (TTL not yet enforced) are skipped."""
        return self.read_log_page(slug, user_id=user_id, group_id=group_id, limit=limit)[0]

    def log_page(self, slug: str, *, user_id: str | None = None, group_id: str | None = None, limit: int = 50,
                 cursor: str | None = None) -> tuple[list[dict], str | None]:
        """One page of the log behind an opaque cursor (idp.app.ports.LogPages): the key to continue from, encoded."""
        items, last = self.read_log_page(slug, user_id=user_id, group_id=group_id, limit=limit,
                                         start_key=decode_cursor(cursor))
        return items, encode_cursor(last)

    def read_log_page(self, slug: str, *, user_id: str | None = None, group_id: str | None = None,
                      limit: int = 50, start_key: dict | None = None) -> tuple[list[dict], dict | None]:
        """One page of the log, newest first, and the key to continue from (None at the end)."""
        self.buffer.flush()
        now = int(self.clock())
        if user_id or group_id:
            pk = f"PLOG#{slug}#USER#{user_id}" if user_id else f"PLOG#{slug}#GROUP#{group_id}"
            kwargs: dict[str, Any] = {"KeyConditionExpression": Key("pk").eq(pk)}
        else:
            kwargs = {"IndexName": "gsi1", "KeyConditionExpression": Key("gsi1pk").eq(f"PLOG#{slug}")}
        limit = max(1, min(int(limit), 500))
        kwargs.update(ScanIndexForward=False, FilterExpression=Attr("expires_at").gt(now))
        if start_key:
            kwargs["ExclusiveStartKey"] = start_key
        out: list[dict] = []
        last_key: dict | None = None
        while len(out) < limit:
            kwargs["Limit"] = limit - len(out)
            page = self.table.query(**kwargs)
            for item in page.get("Items", []):
                entry = {k: v for k, v in from_ddb(item).items() if k not in ("pk", "sk", "gsi1pk", "gsi1sk", "expires_at")}
                if isinstance(entry.get("request"), str):
                    try:
                        entry["request"] = json.loads(entry["request"])
                    except ValueError:
                        pass
                out.append(entry)
                last_key = {k: item[k] for k in ("pk", "sk", "gsi1pk", "gsi1sk") if k in item}
            if "LastEvaluatedKey" not in page:
                return out, None
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        if not user_id and not group_id:
            return out, last_key
        return out, {k: v for k, v in (last_key or {}).items() if k in ("pk", "sk")} or None
