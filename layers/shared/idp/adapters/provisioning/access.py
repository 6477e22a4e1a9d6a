"""Bound-group access snapshots in DynamoDB: `APP#{slug}` / `SCIM#ACCESS#{gid}`, the members of a bound
group last seen, so a membership change knows who lost access."""
from __future__ import annotations

from typing import Any

from idp.adapters.provisioning.items import app_pk
from idp.kernel.clock import now_iso_ms as now_iso


class DynamoAccessSnapshots:
    def __init__(self, table):
        self.table = table

    def _key(self, slug: str, gid: str) -> dict:
        return {"pk": app_pk(slug), "sk": f"SCIM#ACCESS#{gid}"}

    def access_snapshot(self, slug: str, gid: str) -> set[str] | None:
        item = self.table.get_item(Key=self._key(slug, gid), ConsistentRead=True).get("Item")
        if item is None:
            return None
        return set(item.get("members") or ())

    def put_access_snapshot(self, slug: str, gid: str, members: set[str]) -> None:
        item: dict[str, Any] = {**self._key(slug, gid), "updated_at": now_iso()}
        if members:
            item["members"] = set(members)
        self.table.put_item(Item=item)

    def delete_access_snapshot(self, slug: str, gid: str) -> None:
        self.table.delete_item(Key=self._key(slug, gid))
