"""Mapping items in DynamoDB: `APP#{slug}` / `SCIM#USER#{uid}` and `SCIM#GROUP#{gid}`, what was pushed
for a user or group (scim_id, etag, pushed_hash, pushed (flat state JSON), status, last_error,
updated_at; groups also `display_name`). A group's `members`, the directory user ids whose membership
the SP holds, sit in shard items under the group's sort key (`member_shards`: no 400 KB ceiling on a
group) and are read with it in one Query. `save_pushed` with a claim token writes only while that
claim is on the item; leased creates (`put_created`) are held by the write buffer."""
from __future__ import annotations

from typing import Any, Callable

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from idp.adapters.provisioning import member_shards as shards
from idp.adapters.provisioning.buffer import DynamoWriteBuffer
from idp.adapters.provisioning.items import app_pk, condition_failed, decode_map, encode_pushed, map_key
from idp.kernel.clock import now_iso_ms as now_iso
from idp.provisioning.ports import IN_SYNC, STATUS_FAILED, ClaimLost


class DynamoMappings:
    def __init__(self, table, buffer: DynamoWriteBuffer, clock: Callable[[], float]):
        self.table = table
        self.buffer = buffer
        self.clock = clock

    def get_map(self, slug: str, kind: str, eid: str) -> dict | None:
        key = map_key(slug, kind, eid)
        held = self.buffer.held_map(key["pk"], key["sk"])
        if held is not None:
            return decode_map(dict(held))
        if kind == "GROUP":
            item, members = shards.read(self.table, key["pk"], key["sk"])
            if item is None and not members:
                return None
            item = decode_map(item or dict(key))  # members alone: an upsert, as UpdateItem's ADD makes one
            if members:
                item["members"] = members
            return item
        item = self.table.get_item(Key=key, ConsistentRead=True).get("Item")
        return decode_map(item) if item else None

    def maps(self, slug: str, kind: str, attributes: tuple[str, ...] | None = None) -> dict[str, dict]:
        """Every mapping item of one kind for an app, by directory id; `attributes`: only those
        (and the key), e.g. ("scim_id",) when only the SP ids are needed."""
        self.buffer.before_map_io()
        out: dict[str, dict] = {}
        prefix = f"SCIM#{kind}#"
        kwargs: dict[str, Any] = {
            "KeyConditionExpression": Key("pk").eq(app_pk(slug)) & Key("sk").begins_with(prefix),
            "ConsistentRead": True,
        }
        if attributes:
            names = {f"#p{i}": a for i, a in enumerate(("sk", *attributes))}
            kwargs["ProjectionExpression"] = ", ".join(names)
            kwargs["ExpressionAttributeNames"] = names
        want_members = kind == "GROUP" and (not attributes or "members" in attributes)
        members: dict[str, set[str]] = {}
        while True:
            page = self.table.query(**kwargs)
            for item in page.get("Items", []):
                sk = item["sk"]
                if shards.is_shard(sk):
                    if want_members and item.get("members"):
                        members.setdefault(shards.base_of(sk)[len(prefix):], set()).update(item["members"])
                    continue
                out[sk[len(prefix):]] = decode_map(item)
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        for eid, ids in members.items():
            out.setdefault(eid, decode_map({"pk": app_pk(slug), "sk": prefix + eid}))["members"] = ids
        return out

    def save_pushed(self, slug: str, kind: str, eid: str, *, scim_id: str, status: str, etag: str | None = None,
                    pushed: dict | None = None, pushed_hash: str | None = None, display_name: str | None = None,
                    members: set[str] | None = None, claim_token: str | None = None,
                    memberships_pending: bool = False) -> None:
        """Record what the SP now holds. With `claim_token`, only if the claim is still ours."""
        self.buffer.before_map_io()
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
            values[":pushed"] = encode_pushed(pushed)
        if memberships_pending:
            sets.append("memberships_pending = :mp")
            values[":mp"] = True
        expr = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
        kwargs: dict[str, Any] = {
            "Key": map_key(slug, kind, eid),
            "UpdateExpression": expr,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }
        if claim_token:
            kwargs["ConditionExpression"] = "claim_token = :claim"
            values[":claim"] = claim_token
        try:
            if members is None:
                self.table.update_item(**kwargs)
            else:  # the item and exactly these members, in one transaction
                key = kwargs["Key"]
                shards.transact(self.table, [{"Update": {"TableName": self.table.name, **kwargs}},
                                             *shards.replace_ops(self.table.name, key["pk"], key["sk"], set(members), now_iso())])
        except ClientError as exc:
            if condition_failed(exc) or _first_condition_failed(exc):
                raise ClaimLost(f"{kind} {eid}: the create claim was taken over") from None
            raise

    def put_created(self, slug: str, kind: str, eid: str, *, scim_id: str, status: str, etag: str | None = None,
                    pushed: dict | None = None, pushed_hash: str | None = None) -> None:
        """The whole mapping item of an object just created in the SP by a reconcile holding the
        lease (no create claim on it), as one PutItem: the same item `save_pushed` leaves after a
        claimed create. Held for a BatchWriteItem inside `buffered()`."""
        item: dict[str, Any] = {**map_key(slug, kind, eid), "scim_id": scim_id, "status": status,
                                "updated_at": now_iso(), "entity_id": eid}
        if etag is not None:
            item["etag"] = etag
        if pushed_hash is not None:
            item["pushed_hash"] = pushed_hash
        if pushed is not None:
            item["pushed"] = encode_pushed(pushed)
        if not self.buffer.buffering:
            self.table.put_item(Item=item)
            return
        self.buffer.hold_map(item)

    def update_members(self, slug: str, gid: str, add: set[str] = frozenset(), remove: set[str] = frozenset()) -> None:
        """Atomically add/remove directory user ids in a group's pushed member set (per shard)."""
        self.buffer.before_map_io()
        key = map_key(slug, "GROUP", gid)
        shards.change(self.table, key["pk"], key["sk"], add=set(add), remove=set(remove), now=now_iso())

    def set_status(self, slug: str, kind: str, eid: str, status: str, last_error: str | None = None) -> None:
        self.buffer.before_map_io()
        values: dict[str, Any] = {":s": status, ":ts": now_iso(), ":e": eid}
        expr = "SET #s = :s, updated_at = :ts, entity_id = :e"
        if last_error is not None:
            expr += ", last_error = :err"
            values[":err"] = last_error[:1000]
        else:
            expr += " REMOVE last_error"
        self.table.update_item(Key=map_key(slug, kind, eid), UpdateExpression=expr,
                               ExpressionAttributeNames={"#s": "status"}, ExpressionAttributeValues=values)

    def set_memberships_pending(self, slug: str, uid: str, pending: bool) -> None:
        self.buffer.before_map_io()
        expr = "SET memberships_pending = :t" if pending else "REMOVE memberships_pending"
        kwargs: dict[str, Any] = {"ExpressionAttributeValues": {":t": True}} if pending else {}
        try:
            self.table.update_item(Key=map_key(slug, "USER", uid), UpdateExpression=expr,
                                   ConditionExpression="attribute_exists(pk)", **kwargs)
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise

    def forget(self, slug: str, kind: str, eid: str) -> None:
        self.buffer.before_map_io()
        key = map_key(slug, kind, eid)
        if kind != "GROUP":
            self.table.delete_item(Key=key)
            return
        with self.table.batch_writer() as writer:  # the group's item and its member shards
            for k in (key, *shards.all_keys(key["pk"], key["sk"])):
                writer.delete_item(Key=k)

    def forget_app(self, slug: str) -> None:
        """Forget every user and group mapping item of the app (its SCIM base URL moved to another
        server, whose ids these are not): the next sync matches anew."""
        self.buffer.before_map_io()
        keys = []
        for prefix in ("SCIM#USER#", "SCIM#GROUP#"):  # every item under them: member shards too
            kwargs: dict[str, Any] = {"KeyConditionExpression": Key("pk").eq(app_pk(slug)) & Key("sk").begins_with(prefix),
                                      "ProjectionExpression": "pk, sk", "ConsistentRead": True}
            while True:
                page = self.table.query(**kwargs)
                keys.extend({"pk": i["pk"], "sk": i["sk"]} for i in page.get("Items", []))
                if "LastEvaluatedKey" not in page:
                    break
                kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        if not keys:
            return
        with self.table.batch_writer() as writer:
            for key in keys:
                writer.delete_item(Key=key)

    def counts(self, slug: str) -> dict:
        """In sync / pending / failed, per kind (the status view)."""
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


def _first_condition_failed(exc: ClientError) -> bool:
    """A cancelled transaction whose first item (the mapping item's claim check) failed its condition."""
    if exc.response["Error"]["Code"] != "TransactionCanceledException":
        return False
    reasons = exc.response.get("CancellationReasons") or []
    return bool(reasons) and reasons[0].get("Code") == "ConditionalCheckFailed"
