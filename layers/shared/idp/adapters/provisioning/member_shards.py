"""A group's pushed member set (and a bound group's access snapshot) in shards, not in one item.

One DynamoDB item holds at most 400 KB, about 11,000 directory user ids: a group past that could
not be recorded. The set is split over `SHARDS` items beside the group's own item, under its sort
key (`SCIM#GROUP#{gid}#M#0f`), each user id in the shard its hash names: one Query reads the
group's item and its shards together, a membership change touches one shard, and the ceiling is
`SHARDS` × ~11,000 ≈ 180,000 members a group (`CEILING`). Replacing the whole set and the item it
belongs to is one transaction, so a reader never sees a half-written set."""
from __future__ import annotations

import hashlib
from typing import Any, Iterable

from boto3.dynamodb.conditions import Key

SHARDS = 16
CEILING = SHARDS * 11_000
_MARK = "#M#"


def shard_of(uid: str) -> int:
    return hashlib.sha256(uid.encode()).digest()[0] % SHARDS


def shard_sk(base_sk: str, shard: int) -> str:
    return f"{base_sk}{_MARK}{shard:02x}"


def is_shard(sk: str) -> bool:
    return _MARK in sk


def base_of(sk: str) -> str:
    return sk.split(_MARK, 1)[0]


def split(members: Iterable[str]) -> dict[int, set[str]]:
    out: dict[int, set[str]] = {}
    for uid in members:
        out.setdefault(shard_of(uid), set()).add(uid)
    return out


def read(table, pk: str, base_sk: str) -> tuple[dict | None, set[str]]:
    """The item itself (None if absent) and the union of its shards, in one paged Query."""
    kwargs: dict[str, Any] = {"KeyConditionExpression": Key("pk").eq(pk) & Key("sk").begins_with(base_sk),
                              "ConsistentRead": True}
    item, members = None, set()
    while True:
        page = table.query(**kwargs)
        for it in page.get("Items", []):
            if it["sk"] == base_sk:
                item = it
            elif it["sk"].startswith(base_sk + _MARK):
                members |= set(it.get("members") or ())
        if "LastEvaluatedKey" not in page:
            return item, members
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def replace_ops(table_name: str, pk: str, base_sk: str, members: set[str], now: str) -> list[dict]:
    """Transaction items that make the shards hold exactly `members` (a Put per non-empty shard, a
    Delete for every other one)."""
    by_shard = split(members)
    ops = []
    for shard in range(SHARDS):
        key = {"pk": pk, "sk": shard_sk(base_sk, shard)}
        if by_shard.get(shard):
            ops.append({"Put": {"TableName": table_name, "Item": {**key, "members": by_shard[shard], "updated_at": now}}})
        else:
            ops.append({"Delete": {"TableName": table_name, "Key": key}})
    return ops


def change(table, pk: str, base_sk: str, *, add: set[str] = frozenset(), remove: set[str] = frozenset(), now: str) -> None:
    """Add and remove user ids atomically per shard (one UpdateItem per shard touched)."""
    for verb, ids in (("ADD", add), ("DELETE", remove)):
        for shard, part in split(ids).items():
            table.update_item(Key={"pk": pk, "sk": shard_sk(base_sk, shard)},
                              UpdateExpression=f"{verb} members :m SET updated_at = :ts",
                              ExpressionAttributeValues={":m": set(part), ":ts": now})


def all_keys(pk: str, base_sk: str) -> list[dict]:
    """The keys of every shard of one set (to delete them with the item)."""
    return [{"pk": pk, "sk": shard_sk(base_sk, shard)} for shard in range(SHARDS)]


def transact(table, items: list[dict]) -> None:
    """TransactWriteItems through the table (a test wrapper may serialize it) or its client."""
    run = getattr(table, "transact_write_items", None)
    if run is None:
        run = table.meta.client.transact_write_items
    run(TransactItems=items)
