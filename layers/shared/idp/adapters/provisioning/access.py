"""Bound-group access snapshots in DynamoDB: `APP#{slug}` / `SCIM#ACCESS#{gid}`, the members of a bound
group last seen, so a membership change knows who lost access; the members sit in shard items under
it (`member_shards`: no 400 KB ceiling), written with it in one transaction."""
from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from idp.adapters.dynamo import cancelled_by_a_condition
from idp.adapters.provisioning import member_shards as shards
from idp.adapters.provisioning.items import app_pk
from idp.kernel.clock import now_iso_ms as now_iso


class DynamoAccessSnapshots:
    def __init__(self, table):
        self.table = table

    def _key(self, slug: str, gid: str) -> dict:
        return {"pk": app_pk(slug), "sk": f"SCIM#ACCESS#{gid}"}

    def access_snapshot(self, slug: str, gid: str) -> set[str] | None:
        key = self._key(slug, gid)
        item, members = shards.read(self.table, key["pk"], key["sk"])
        return None if item is None else members

    def put_access_snapshot(self, slug: str, gid: str, members: set[str], *, only_if_absent: bool = False) -> bool:
        key = self._key(slug, gid)
        now = now_iso()
        item: dict[str, Any] = {**key, "updated_at": now}
        put: dict[str, Any] = {"TableName": self.table.name, "Item": item}
        if only_if_absent:
            put["ConditionExpression"] = "attribute_not_exists(pk)"
        try:
            shards.transact(self.table, [{"Put": put}, *shards.replace_ops(self.table.name, key["pk"], key["sk"], set(members), now)])
        except ClientError as exc:
            if only_if_absent and cancelled_by_a_condition(exc):
                return False  # a consumer wrote one meanwhile: it is at least as new
            raise
        return True

    def delete_access_snapshot(self, slug: str, gid: str) -> None:
        key = self._key(slug, gid)
        with self.table.batch_writer() as writer:
            for k in (key, *shards.all_keys(key["pk"], key["sk"])):
                writer.delete_item(Key=k)
