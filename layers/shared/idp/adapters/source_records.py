"""The identity sources half of the directory store (contract section 10), mixed into `DirectoryStore` over its
helpers: source items (`SOURCE#{id}` / `META`, listed on gsi1 `SOURCES`; the token only as its SHA-256), and
the ownership marks of users and groups: `source_id` on the item and gsi2 (`SRC#{id}#USER` / `SRC#{id}#GROUP`,
sorted by id), so a source's users are one Query and never a scan of the directory."""
from __future__ import annotations

from typing import Any

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from idp.adapters.directory_keys import clean as _clean
from idp.adapters.dynamo import new_id
from idp.kernel.clock import now_iso
from idp.kernel.errors import not_found

OWNED = {"user": ("USER#", "PROFILE"), "group": ("GROUP#", "META")}
WITH_DOCUMENT = frozenset({"scim_document", "source_deleted"})  # what the SCIM server reads of an owned record beyond the record


def owner_index(source_id: str, kind: str) -> str:
    """The gsi2 partition of the users (kind "user") or groups ("group") a source owns."""
    return f"SRC#{source_id}#{kind.upper()}"


def owner_keys(source_id: str, kind: str, ident: str) -> dict[str, str]:
    """What marks an item as owned by a source: the attribute and its gsi2 keys."""
    return {"source_id": source_id, "gsi2pk": owner_index(source_id, kind), "gsi2sk": ident}


class SourceRecords:
    # ---------- sources ----------
    def create_source(self, fields: dict[str, Any], token_hash_of: Any) -> tuple[dict[str, Any], str]:
        """Store a new source; `token_hash_of(source_id)` gives (token, its hash): the token is returned once."""
        sid = new_id("s")
        token, token_hash = token_hash_of(sid)
        ts = now_iso()
        item = {"pk": f"SOURCE#{sid}", "sk": "META", "gsi1pk": "SOURCES", "gsi1sk": sid, "kind": "source",
                **fields, "id": sid, "token_hash": token_hash, "created_at": ts, "updated_at": ts, "version": 1}
        self.table.put_item(Item=item, ConditionExpression="attribute_not_exists(pk)")
        return _clean(item), token

    def get_source(self, sid: str, consistent: bool = True) -> dict[str, Any] | None:
        item = self._get(f"SOURCE#{sid}", "META", consistent)
        return _clean(item) if item else None

    def get_source_with_hash(self, sid: str) -> tuple[dict[str, Any], str] | None:
        """The source and its token's hash (only the token check reads it), or None."""
        item = self._get(f"SOURCE#{sid}", "META", True)
        return (_clean(item), str(item.get("token_hash", ""))) if item else None

    def list_sources(self, limit: int | None = None, cursor: str | None = None) -> tuple[list[dict[str, Any]], str | None]:
        return self._page("SOURCES", limit, cursor)

    def set_source_token(self, sid: str, token_hash: str) -> None:
        try:
            self.table.update_item(Key={"pk": f"SOURCE#{sid}", "sk": "META"}, ConditionExpression="attribute_exists(pk)",
                                   UpdateExpression="SET token_hash = :h, updated_at = :t",
                                   ExpressionAttributeValues={":h": token_hash, ":t": now_iso()})
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise not_found("source", sid) from None
            raise

    def touch_source(self, sid: str, at: str, not_since: str) -> bool:
        """Set `last_used_at` to `at` unless it is already `not_since` or later (one write a minute at most)."""
        try:
            self.table.update_item(Key={"pk": f"SOURCE#{sid}", "sk": "META"},
                                   ConditionExpression="attribute_exists(pk) AND (attribute_not_exists(last_used_at) OR last_used_at < :c)",
                                   UpdateExpression="SET last_used_at = :t", ExpressionAttributeValues={":t": at, ":c": not_since})
            return True
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise

    def delete_source(self, sid: str) -> None:
        """Delete the source (its token stops working at once), then release what it owned: the users and groups stay."""
        try:
            self.table.delete_item(Key={"pk": f"SOURCE#{sid}", "sk": "META"}, ConditionExpression="attribute_exists(pk)")
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise not_found("source", sid) from None
            raise
        for kind in OWNED:
            for ident in self.owned_ids(sid, kind):
                self.set_owner(kind, ident, None)

    # ---------- ownership ----------
    def owned_ids(self, sid: str, kind: str) -> list[str]:
        """The ids of the users (kind "user") or groups ("group") the source owns, in id order: one Query of gsi2."""
        return [i["gsi2sk"] for i in self._query_all(IndexName="gsi2", KeyConditionExpression=Key("gsi2pk").eq(owner_index(sid, kind)),
                                                     ProjectionExpression="gsi2sk")]

    def set_owner(self, kind: str, ident: str, sid: str | None, external_id: str | None = None) -> None:
        """Mark a user or group as the source's (with its externalId), or (sid None) as owned by nobody."""
        prefix, sk = OWNED[kind]
        key = {"pk": f"{prefix}{ident}", "sk": sk}
        try:
            if sid is None:
                self.table.update_item(Key=key, ConditionExpression="attribute_exists(pk)",
                                       UpdateExpression="REMOVE source_id, gsi2pk, gsi2sk, external_id, scim_document, source_deleted")
                return
            marks = owner_keys(sid, kind, ident)
            values: dict[str, Any] = {f":{k}": v for k, v in marks.items()}
            sets = [f"{k} = :{k}" for k in marks]
            if external_id is not None:
                values[":x"] = external_id
                sets.append("external_id = :x")
            self.table.update_item(Key=key, ConditionExpression="attribute_exists(pk)", UpdateExpression="SET " + ", ".join(sets),
                                   ExpressionAttributeValues=values)
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise

    def find_group_id(self, name: str) -> str | None:
        """The group named `name` (case-insensitively): one GetItem of its unique-name item."""
        item = self._get(f"UNIQUE#groupname#{name.lower()}", "UNIQUE", consistent=False)
        return item["owner"] if item else None

    def owned(self, sid: str, kind: str) -> list[dict[str, Any]]:
        """The users (kind "user") or groups ("group") the source owns, whole, in id order: one Query of gsi2."""
        return [_clean(i, WITH_DOCUMENT)
                for i in self._query_all(IndexName="gsi2", KeyConditionExpression=Key("gsi2pk").eq(owner_index(sid, kind)))]

    def get_owned(self, kind: str, ident: str) -> dict[str, Any] | None:
        """A user or group with the SCIM document its source wrote (None when it does not exist)."""
        prefix, sk = OWNED[kind]
        item = self._get(f"{prefix}{ident}", sk)
        return _clean(item, WITH_DOCUMENT) if item else None
