"""DynamoDB items of the provisioning package (one table, see docs/ARCHITECTURE.md):

- `APP#{slug}` / `SCIM#USER#{uid}`: what was pushed for a user (scim_id, etag, pushed_hash,
  pushed (flat state JSON), status, last_error, updated_at; claim_token/claim_until while a
  consumer creates it);
- `APP#{slug}` / `SCIM#GROUP#{gid}`: same for a group, plus `display_name` and `members`
  (string set of directory user ids whose membership the SP holds);
- `APP#{slug}` / `SCIM#ACCESS#{gid}`: the members of a bound group last seen, so a
  membership change knows who left;
- `APP#{slug}` / `SCIM#STATUS`: the app's provisioning status and circuit breaker;
- `APP#{slug}` / `SCIM#LEASE`: the reconcile lease (`lease_token`, `lease_until`): while a
  reconcile holds it, it creates users without a claim per user, and no other consumer creates
  anything for the app (a consumer's create claim checks the lease after it is taken, see
  `lease_blocks`);
- `PLOG#{slug}#USER#{uid}` / `PLOG#{slug}#GROUP#{gid}`, sk `{iso}#{n}`: the provisioning log
  (gsi1pk `PLOG#{slug}` for the app-wide view), TTL `expires_at`.
"""
from __future__ import annotations

import contextlib
import json
import secrets
import threading
import time
from decimal import Decimal
from typing import Any

from aws_lambda_powertools import Logger
from boto3.dynamodb.conditions import Attr, Key
from botocore.exceptions import ClientError

from idp.kernel.clock import now_iso_ms as now_iso
from idp.provisioning.ports import (  # noqa: F401 - the item statuses, re-exported for the adapter's callers
    CLAIM_SECONDS,
    IN_SYNC,
    LEASE_SECONDS,
    STATUS_CREATING,
    STATUS_DEACTIVATED,
    STATUS_FAILED,
    STATUS_PENDING,
    STATUS_SYNCED,
    ClaimLost,
)

log = Logger(child=True)

LOG_TTL_SECONDS = 30 * 24 * 3600
BATCH_SIZE = 25  # BatchWriteItem's limit



def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, set):
        return {_plain(v) for v in value}
    return value


def _kind_sk(kind: str, eid: str) -> str:
    assert kind in ("USER", "GROUP"), kind
    return f"SCIM#{kind}#{eid}"


class _Buffer(threading.local):
    """Per thread: the writes held back inside `ProvisioningState.buffered()`."""

    def __init__(self):
        self.depth = 0
        self.maps: dict[tuple[str, str], dict] = {}  # (pk, sk) -> the whole mapping item
        self.logs: list[dict] = []


class ProvisioningState:
    def __init__(self, table, *, clock=time.time):
        self.table = table
        self.clock = clock
        self._buf = _Buffer()

    # ---------------------------------------------------------------- write buffering
    @contextlib.contextmanager
    def buffered(self):
        """Inside: provisioning-log entries and the mapping items of fresh creates (`put_created`)
        are held and written with BatchWriteItem, 25 at a time, instead of one call each. Everything
        held is written when 25 are waiting, before any other read or write of a mapping item (so
        this process reads its own writes, in order), and when the block ends, also on an
        exception. A failed flush of mapping items raises (when nothing else is raising); a failed
        flush of log entries is logged and dropped (the log never stops provisioning)."""
        buf = self._buf
        buf.depth += 1
        ok = False
        try:
            yield self
            ok = True
        finally:
            buf.depth -= 1
            try:
                self.flush()
            except Exception:  # noqa: BLE001
                if buf.depth == 0:  # never carry held writes into a later, unrelated unit of work
                    buf.maps.clear()
                    buf.logs.clear()
                if ok:
                    raise
                log.exception("flushing buffered provisioning state failed (while handling another error)")

    @property
    def buffering(self) -> bool:
        return self._buf.depth > 0

    def pending(self) -> int:
        return len(self._buf.maps) + len(self._buf.logs)

    def flush(self) -> None:
        """Write what is held: mapping items first (a failure raises and keeps them held), then
        log entries (a failure is logged and they are dropped)."""
        self.flush_maps()
        buf = self._buf
        if buf.logs:
            logs, buf.logs = buf.logs, []
            try:
                self._batch_put(logs)
            except Exception:  # noqa: BLE001 - the log never stops provisioning
                log.exception("provisioning log write failed (%d entries)", len(logs))

    def flush_maps(self) -> None:
        buf = self._buf
        if buf.maps:
            items = list(buf.maps.values())
            self._batch_put(items)
            buf.maps.clear()

    def _batch_put(self, items: list[dict]) -> None:
        if len(items) == 1:
            self.table.put_item(Item=items[0])
            return
        # batch_writer sends BatchWriteItem in chunks of 25 and resends UnprocessedItems.
        with self.table.batch_writer() as writer:
            for item in items:
                writer.put_item(Item=item)

    def _hold_log(self, item: dict) -> None:
        buf = self._buf
        buf.logs.append(item)
        if len(buf.maps) + len(buf.logs) >= BATCH_SIZE:
            self.flush()

    def _before_map_io(self) -> None:
        """Any direct read or write of mapping items first writes the held ones (order, own reads)."""
        if self._buf.maps:
            self.flush_maps()

    # ---------------------------------------------------------------- mapping items
    def get_map(self, slug: str, kind: str, eid: str) -> dict | None:
        held = self._buf.maps.get((f"APP#{slug}", _kind_sk(kind, eid)))
        if held is not None:
            return self._decode(dict(held))
        item = self.table.get_item(Key={"pk": f"APP#{slug}", "sk": _kind_sk(kind, eid)}, ConsistentRead=True).get("Item")
        return self._decode(item) if item else None

    def maps(self, slug: str, kind: str, attributes: tuple[str, ...] | None = None) -> dict[str, dict]:
        """Every mapping item of one kind for an app, by directory id; `attributes`: only those
        (and the key), e.g. ("scim_id",) when only the SP ids are needed."""
        self._before_map_io()
        out: dict[str, dict] = {}
        prefix = f"SCIM#{kind}#"
        kwargs: dict[str, Any] = {
            "KeyConditionExpression": Key("pk").eq(f"APP#{slug}") & Key("sk").begins_with(prefix),
            "ConsistentRead": True,
        }
        if attributes:
            names = {f"#p{i}": a for i, a in enumerate(("sk", *attributes))}
            kwargs["ProjectionExpression"] = ", ".join(names)
            kwargs["ExpressionAttributeNames"] = names
        while True:
            page = self.table.query(**kwargs)
            for item in page.get("Items", []):
                out[item["sk"][len(prefix):]] = self._decode(item)
            if "LastEvaluatedKey" not in page:
                return out
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    @staticmethod
    def _decode(item: dict) -> dict:
        item = _plain(item)
        if isinstance(item.get("pushed"), str):
            try:
                item["pushed"] = json.loads(item["pushed"])
            except ValueError:
                item["pushed"] = None
        if "members" in item:
            item["members"] = set(item["members"])
        return item

    def claim_create(self, slug: str, kind: str, eid: str, seconds: int = CLAIM_SECONDS) -> str | None:
        """Claim the right to create this object in the SP. Returns a token, or None when the
        object has a scim_id already or another consumer holds a live claim."""
        self._before_map_io()
        token = secrets.token_hex(8)
        now = self.clock()
        try:
            self.table.update_item(
                Key={"pk": f"APP#{slug}", "sk": _kind_sk(kind, eid)},
                UpdateExpression="SET claim_token = :t, claim_until = :u, #s = :creating, entity_id = :e, updated_at = :ts",
                ConditionExpression="attribute_not_exists(scim_id) AND (attribute_not_exists(claim_until) OR claim_until < :now)",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={":t": token, ":u": Decimal(str(round(now + seconds, 3))), ":now": Decimal(str(round(now, 3))),
                                           ":creating": STATUS_CREATING, ":e": eid, ":ts": now_iso()},
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return None
            raise
        return token

    def release_claim(self, slug: str, kind: str, eid: str, token: str) -> None:
        self._before_map_io()
        try:
            self.table.update_item(
                Key={"pk": f"APP#{slug}", "sk": _kind_sk(kind, eid)},
                UpdateExpression="REMOVE claim_token, claim_until",
                ConditionExpression="claim_token = :t",
                ExpressionAttributeValues={":t": token},
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise

    def save_pushed(self, slug: str, kind: str, eid: str, *, scim_id: str, status: str, etag: str | None = None,
                    pushed: dict | None = None, pushed_hash: str | None = None, display_name: str | None = None,
                    members: set[str] | None = None, claim_token: str | None = None) -> None:
        """Record what the SP now holds. With `claim_token`, only if the claim is still ours."""
        self._before_map_io()
        names = {"#s": "status"}
        values: dict[str, Any] = {":sid": scim_id, ":s": status, ":ts": now_iso(), ":e": eid}
        sets = ["scim_id = :sid", "#s = :s", "updated_at = :ts", "entity_id = :e"]
        removes = ["last_error", "claim_token", "claim_until"] if claim_token else ["last_error"]
        for attr, val in (("etag", etag), ("pushed_hash", pushed_hash), ("display_name", display_name)):
            if val is not None:
                sets.append(f"{attr} = :{attr}")
                values[f":{attr}"] = val
        if pushed is not None:
            sets.append("pushed = :pushed")
            values[":pushed"] = json.dumps(pushed, sort_keys=True, default=str)
        if members is not None:
            if members:
                sets.append("members = :members")
                values[":members"] = set(members)
            else:
                removes.append("members")
        expr = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
        kwargs: dict[str, Any] = {
            "Key": {"pk": f"APP#{slug}", "sk": _kind_sk(kind, eid)},
            "UpdateExpression": expr,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }
        if claim_token:
            kwargs["ConditionExpression"] = "claim_token = :claim"
            values[":claim"] = claim_token
        try:
            self.table.update_item(**kwargs)
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise ClaimLost(f"{kind} {eid}: the create claim was taken over") from None
            raise

    def put_created(self, slug: str, kind: str, eid: str, *, scim_id: str, status: str, etag: str | None = None,
                    pushed: dict | None = None, pushed_hash: str | None = None) -> None:
        """The whole mapping item of an object just created in the SP by a reconcile holding the
        lease (no create claim on it), as one PutItem: the same item `save_pushed` leaves after a
        claimed create. Held for a BatchWriteItem inside `buffered()`."""
        item: dict[str, Any] = {"pk": f"APP#{slug}", "sk": _kind_sk(kind, eid), "scim_id": scim_id, "status": status,
                                "updated_at": now_iso(), "entity_id": eid}
        if etag is not None:
            item["etag"] = etag
        if pushed_hash is not None:
            item["pushed_hash"] = pushed_hash
        if pushed is not None:
            item["pushed"] = json.dumps(pushed, sort_keys=True, default=str)
        if not self.buffering:
            self.table.put_item(Item=item)
            return
        buf = self._buf
        buf.maps[(item["pk"], item["sk"])] = item
        if len(buf.maps) + len(buf.logs) >= BATCH_SIZE:
            self.flush()

    # ---------------------------------------------------------------- the reconcile lease
    def acquire_lease(self, slug: str, seconds: float = LEASE_SECONDS) -> tuple[str, float] | None:
        """Take the app's reconcile lease: (token, until) or None while another holds a live one."""
        token = secrets.token_hex(8)
        now = self.clock()
        until = round(now + seconds, 3)
        try:
            self.table.update_item(
                Key={"pk": f"APP#{slug}", "sk": "SCIM#LEASE"},
                UpdateExpression="SET lease_token = :t, lease_until = :u, acquired_at = :ts",
                ConditionExpression="attribute_not_exists(lease_until) OR lease_until < :now",
                ExpressionAttributeValues={":t": token, ":u": Decimal(str(until)), ":now": Decimal(str(round(now, 3))),
                                           ":ts": now_iso()},
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return None
            raise
        return token, until

    def renew_lease(self, slug: str, token: str, seconds: float = LEASE_SECONDS) -> float | None:
        """Extend our lease: the new `until`, or None when it is no longer ours."""
        until = round(self.clock() + seconds, 3)
        try:
            self.table.update_item(
                Key={"pk": f"APP#{slug}", "sk": "SCIM#LEASE"},
                UpdateExpression="SET lease_until = :u",
                ConditionExpression="lease_token = :t",
                ExpressionAttributeValues={":t": token, ":u": Decimal(str(until))},
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return None
            raise
        return until

    def release_lease(self, slug: str, token: str) -> None:
        try:
            self.table.delete_item(Key={"pk": f"APP#{slug}", "sk": "SCIM#LEASE"}, ConditionExpression="lease_token = :t",
                                   ExpressionAttributeValues={":t": token})
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise

    def lease_blocks(self, slug: str, token: str | None = None) -> bool:
        """True while someone other than `token` holds a live reconcile lease on the app."""
        item = self.table.get_item(Key={"pk": f"APP#{slug}", "sk": "SCIM#LEASE"}, ConsistentRead=True).get("Item")
        if not item:
            return False
        if token is not None and item.get("lease_token") == token:
            return False
        return float(item.get("lease_until") or 0) > self.clock()

    def update_members(self, slug: str, gid: str, add: set[str] = frozenset(), remove: set[str] = frozenset()) -> None:
        """Atomically add/remove directory user ids in a group's pushed member set."""
        self._before_map_io()
        key = {"pk": f"APP#{slug}", "sk": _kind_sk("GROUP", gid)}
        if add:
            self.table.update_item(Key=key, UpdateExpression="ADD members :m SET updated_at = :ts",
                                   ExpressionAttributeValues={":m": set(add), ":ts": now_iso()})
        if remove:
            self.table.update_item(Key=key, UpdateExpression="DELETE members :m SET updated_at = :ts",
                                   ExpressionAttributeValues={":m": set(remove), ":ts": now_iso()})

    def set_status(self, slug: str, kind: str, eid: str, status: str, last_error: str | None = None) -> None:
        self._before_map_io()
        values: dict[str, Any] = {":s": status, ":ts": now_iso(), ":e": eid}
        expr = "SET #s = :s, updated_at = :ts, entity_id = :e"
        if last_error is not None:
            expr += ", last_error = :err"
            values[":err"] = last_error[:1000]
        else:
            expr += " REMOVE last_error"
        self.table.update_item(Key={"pk": f"APP#{slug}", "sk": _kind_sk(kind, eid)}, UpdateExpression=expr,
                               ExpressionAttributeNames={"#s": "status"}, ExpressionAttributeValues=values)

    def forget(self, slug: str, kind: str, eid: str) -> None:
        self._before_map_io()
        self.table.delete_item(Key={"pk": f"APP#{slug}", "sk": _kind_sk(kind, eid)})

    # ---------------------------------------------------------------- bound-group snapshots
    def access_snapshot(self, slug: str, gid: str) -> set[str] | None:
        item = self.table.get_item(Key={"pk": f"APP#{slug}", "sk": f"SCIM#ACCESS#{gid}"}, ConsistentRead=True).get("Item")
        if item is None:
            return None
        return set(item.get("members") or ())

    def put_access_snapshot(self, slug: str, gid: str, members: set[str]) -> None:
        item: dict[str, Any] = {"pk": f"APP#{slug}", "sk": f"SCIM#ACCESS#{gid}", "updated_at": now_iso()}
        if members:
            item["members"] = set(members)
        self.table.put_item(Item=item)

    def delete_access_snapshot(self, slug: str, gid: str) -> None:
        self.table.delete_item(Key={"pk": f"APP#{slug}", "sk": f"SCIM#ACCESS#{gid}"})

    # ---------------------------------------------------------------- app status + breaker
    def app_status(self, slug: str) -> dict:
        item = self.table.get_item(Key={"pk": f"APP#{slug}", "sk": "SCIM#STATUS"}, ConsistentRead=True).get("Item")
        return _plain(item) if item else {"state": "ok", "consecutive_failures": 0}

    def _status_update(self, slug: str, sets: dict[str, Any], removes: list[str] = (), add: dict[str, int] | None = None,
                       return_new: bool = False) -> dict:
        names, values, parts = {}, {}, []
        for i, (k, v) in enumerate(sets.items()):
            names[f"#k{i}"] = k
            values[f":v{i}"] = Decimal(str(v)) if isinstance(v, float) else v
            parts.append(f"#k{i} = :v{i}")
        expr = "SET " + ", ".join(parts) if parts else ""
        if add:
            adds = []
            for j, (k, v) in enumerate(add.items()):
                names[f"#a{j}"] = k
                values[f":a{j}"] = v
                adds.append(f"#a{j} :a{j}")
            expr += " ADD " + ", ".join(adds)
        if removes:
            rem = []
            for j, k in enumerate(removes):
                names[f"#r{j}"] = k
                rem.append(f"#r{j}")
            expr += " REMOVE " + ", ".join(rem)
        kwargs: dict[str, Any] = {"Key": {"pk": f"APP#{slug}", "sk": "SCIM#STATUS"}, "UpdateExpression": expr.strip(),
                                  "ExpressionAttributeNames": names}
        if values:
            kwargs["ExpressionAttributeValues"] = values
        if return_new:
            kwargs["ReturnValues"] = "ALL_NEW"
        answer = self.table.update_item(**kwargs)
        return _plain(answer.get("Attributes") or {})

    def breaker_open_for(self, status: dict) -> float:
        """Seconds until the app's breaker lets requests through again (0: closed or half-open)."""
        until = float(status.get("open_until") or 0)
        return max(0.0, until - self.clock())

    def note_success(self, slug: str, status: dict | None = None) -> None:
        status = status if status is not None else self.app_status(slug)
        if status.get("state", "ok") == "ok" and not status.get("consecutive_failures") and not status.get("open_until"):
            return
        self._status_update(slug, {"state": "ok", "consecutive_failures": 0, "recovered_at": now_iso()},
                            removes=["open_until", "reason"])

    def note_transient_failure(self, slug: str, message: str, *, threshold: int, base_cooldown: float,
                               max_cooldown: float) -> float:
        """Count a transient failure; open the breaker after `threshold` in a row. Returns the
        seconds the breaker is now open for (0 when it stays closed)."""
        new = self._status_update(slug, {"last_error": message[:1000], "last_error_at": now_iso()},
                                  add={"consecutive_failures": 1}, return_new=True)
        n = int(new.get("consecutive_failures") or 0)
        if n < threshold or new.get("state") == "auth_failed":
            return 0.0
        cooldown = min(max_cooldown, base_cooldown * (2 ** min(16, n - threshold)))
        self._status_update(slug, {"state": "failing", "open_until": self.clock() + cooldown,
                                   "reason": f"{n} transient failures in a row; the last: {message[:300]}"})
        return cooldown

    def note_auth_failure(self, slug: str, message: str, retry_seconds: float) -> None:
        self._status_update(slug, {
            "state": "auth_failed", "open_until": self.clock() + retry_seconds,
            "reason": f"the SP refused the SCIM credentials: {message[:500]}. Fix the token or the base URL "
                      f"(PUT /admin/apps/{slug}/provisioning); pending changes are kept and pushed once it works.",
            "last_error": message[:1000], "last_error_at": now_iso(),
        })

    def note_permanent_failure(self, slug: str, message: str) -> None:
        self._status_update(slug, {"last_error": message[:1000], "last_error_at": now_iso()})

    def set_halted(self, slug: str, reason: str) -> None:
        self._status_update(slug, {"state": "halted", "reason": reason, "halted_at": now_iso()})

    def reset_app(self, slug: str) -> None:
        """Close the breaker and clear a failing/halted state (new settings or token)."""
        self._status_update(slug, {"state": "ok", "consecutive_failures": 0}, removes=["open_until", "reason"])

    def note_reconcile(self, slug: str, summary: dict) -> None:
        self._status_update(slug, {"last_reconcile_at": now_iso(), "last_reconcile": summary})

    # ---------------------------------------------------------------- provisioning log
    def log(self, slug: str, kind: str, eid: str, *, action: str, outcome: str, request: dict | None = None,
            sp_status: int | None = None, sp_message: str | None = None, detail: str | None = None) -> None:
        ts = now_iso()
        sk = f"{ts}#{secrets.token_hex(4)}"
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
        if self.buffering:
            self._hold_log(item)
            return
        self.table.put_item(Item=item)

    def read_log(self, slug: str, *, user_id: str | None = None, group_id: str | None = None,
                 limit: int = 50) -> list[dict]:
        """Newest first; expired entries (TTL not yet enforced) are skipped."""
        return self.read_log_page(slug, user_id=user_id, group_id=group_id, limit=limit)[0]

    def read_log_page(self, slug: str, *, user_id: str | None = None, group_id: str | None = None,
                      limit: int = 50, start_key: dict | None = None) -> tuple[list[dict], dict | None]:
        """One page of the log, newest first, and the key to continue from (None at the end)."""
        self.flush()
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
                entry = {k: v for k, v in _plain(item).items() if k not in ("pk", "sk", "gsi1pk", "gsi1sk", "expires_at")}
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

    # ---------------------------------------------------------------- counts
    def counts(self, slug: str) -> dict:
        result: dict[str, Any] = {}
        for kind in ("USER", "GROUP"):
            c = {"in_sync": 0, "pending": 0, "failed": 0}
            for item in self.maps(slug, kind).values():
                status = item.get("status")
                if status in IN_SYNC:
                    c["in_sync"] += 1
                elif status == STATUS_FAILED:
                    c["failed"] += 1
                else:
                    c["pending"] += 1
            result[kind.lower() + "s"] = c
        return result
