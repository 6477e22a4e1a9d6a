"""The reconcile lease in DynamoDB: `APP#{slug}` / `SCIM#LEASE` (`lease_token`, `lease_until`). While a
reconcile holds it, it creates users without a claim per user and no consumer creates anything for
the app (a consumer's create claim checks `lease_blocks` after it is taken). Acquired only when
free or lapsed; renewed and released only with its token."""
from __future__ import annotations

import secrets
from typing import Callable

from botocore.exceptions import ClientError

from idp.adapters.provisioning.items import app_pk, condition_failed, number
from idp.kernel.clock import now_iso_ms as now_iso
from idp.provisioning.ports import LEASE_SECONDS

LEASE_SK = "SCIM#LEASE"


class DynamoLease:
    def __init__(self, table, clock: Callable[[], float]):
        self.table = table
        self.clock = clock

    def _key(self, slug: str) -> dict:
        return {"pk": app_pk(slug), "sk": LEASE_SK}

    def acquire_lease(self, slug: str, seconds: float = LEASE_SECONDS) -> tuple[str, float] | None:
        """Take the app's reconcile lease: (token, until) or None while another holds a live one."""
        token = secrets.token_hex(8)
        now = self.clock()
        until = round(now + seconds, 3)
        try:
            self.table.update_item(
                Key=self._key(slug),
                UpdateExpression="SET lease_token = :t, lease_until = :u, acquired_at = :ts",
                ConditionExpression="attribute_not_exists(lease_until) OR lease_until < :now",
                ExpressionAttributeValues={":t": token, ":u": number(until), ":now": number(now), ":ts": now_iso()},
            )
        except ClientError as exc:
            if condition_failed(exc):
                return None
            raise
        return token, until

    def renew_lease(self, slug: str, token: str, seconds: float = LEASE_SECONDS) -> float | None:
        """Extend our lease: the new `until`, or None when it is no longer ours or has lapsed (a
        consumer may have claimed and started a create since: the run must not go on claimless)."""
        now = self.clock()
        until = round(now + seconds, 3)
        try:
            self.table.update_item(
                Key=self._key(slug),
                UpdateExpression="SET lease_until = :u",
                ConditionExpression="lease_token = :t AND lease_until >= :now",
                ExpressionAttributeValues={":t": token, ":u": number(until), ":now": number(now)},
            )
        except ClientError as exc:
            if condition_failed(exc):
                return None
            raise
        return until

    def release_lease(self, slug: str, token: str) -> None:
        try:
            self.table.delete_item(Key=self._key(slug), ConditionExpression="lease_token = :t",
                                   ExpressionAttributeValues={":t": token})
        except ClientError as exc:
            if not condition_failed(exc):
                raise

    def lease_blocks(self, slug: str, token: str | None = None) -> bool:
        """True while someone other than `token` holds a live reconcile lease on the app."""
        item = self.table.get_item(Key=self._key(slug), ConsistentRead=True).get("Item")
        if not item:
            return False
        if token is not None and item.get("lease_token") == token:
            return False
        return float(item.get("lease_until") or 0) > self.clock()
