"""Create claims in DynamoDB: `claim_token` / `claim_until` on a mapping item while one consumer
creates that user or group in the SP. Taken only when the item has no scim_id and no live claim
(one conditional update); released only by its holder; a crashed holder's claim lapses."""
from __future__ import annotations

import secrets
from typing import Callable

from botocore.exceptions import ClientError

from idp.adapters.provisioning.buffer import DynamoWriteBuffer
from idp.adapters.provisioning.items import condition_failed, map_key, number
from idp.kernel.clock import now_iso_ms as now_iso
from idp.provisioning.ports import CLAIM_SECONDS, STATUS_CREATING


class DynamoClaims:
    def __init__(self, table, buffer: DynamoWriteBuffer, clock: Callable[[], float]):
        self.table = table
        self.buffer = buffer
        self.clock = clock

    def claim_create(self, slug: str, kind: str, eid: str, seconds: int = CLAIM_SECONDS) -> str | None:
        """Claim the right to create this object in the SP. Returns a token, or None when the
        object has a scim_id already or another consumer holds a live claim."""
        self.buffer.before_map_io()
        token = secrets.token_hex(8)
        now = self.clock()
        try:
            self.table.update_item(
                Key=map_key(slug, kind, eid),
                UpdateExpression="SET claim_token = :t, claim_until = :u, #s = :creating, entity_id = :e, updated_at = :ts",
                ConditionExpression="attribute_not_exists(scim_id) AND (attribute_not_exists(claim_until) OR claim_until < :now)",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={":t": token, ":u": number(now + seconds), ":now": number(now),
                                           ":creating": STATUS_CREATING, ":e": eid, ":ts": now_iso()},
            )
        except ClientError as exc:
            if condition_failed(exc):
                return None
            raise
        return token

    def forget_unclaimed(self, slug: str, kind: str, eid: str) -> bool:
        """One conditional DeleteItem: only an item with no scim_id and no live claim goes."""
        self.buffer.before_map_io()
        try:
            self.table.delete_item(
                Key=map_key(slug, kind, eid),
                ConditionExpression="attribute_not_exists(scim_id) AND (attribute_not_exists(claim_until) OR claim_until < :now)",
                ExpressionAttributeValues={":now": number(self.clock())},
            )
        except ClientError as exc:
            if condition_failed(exc):
                return False
            raise
        return True

    def release_claim(self, slug: str, kind: str, eid: str, token: str) -> None:
        self.buffer.before_map_io()
        try:
            self.table.update_item(
                Key=map_key(slug, kind, eid),
                UpdateExpression="REMOVE claim_token, claim_until",
                ConditionExpression="claim_token = :t",
                ExpressionAttributeValues={":t": token},
            )
        except ClientError as exc:
            if not condition_failed(exc):
                raise
