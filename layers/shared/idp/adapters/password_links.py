"""DynamoDB store of activation and reset links and of the reset-email counters
(`idp.directory.lifecycle.PasswordLinkStore`). Items (TTL `expires_at`; readers judge expiry themselves, moto
does not enforce TTL):

    PWLINK#{uid}              {purpose}   the newest link's SHA-256, issued_ms, expires_at (one per user and purpose)
    PWLINK#sent#{key}         SENT        the times (epoch seconds) of the reset emails of the last hour under key
                                          (user#{uid}, or login#{sha256 of the login name typed})
"""
from __future__ import annotations

from botocore.exceptions import ClientError

from idp.adapters.dynamo import from_ddb
from idp.directory.lifecycle import StoredLink


def _conditional_failed(exc: ClientError) -> bool:
    return exc.response["Error"]["Code"] == "ConditionalCheckFailedException"


class PasswordLinks:
    def __init__(self, table) -> None:
        self.table = table

    @staticmethod
    def link_key(uid: str, purpose: str) -> dict[str, str]:
        return {"pk": f"PWLINK#{uid}", "sk": purpose}

    def put_link(self, link: StoredLink) -> None:
        self.table.put_item(Item={**self.link_key(link.uid, link.purpose), "token_hash": link.token_hash,
                                  "issued_ms": link.issued_ms, "expires_at": link.expires_at})

    def get_link(self, uid: str, purpose: str) -> StoredLink | None:
        item = self.table.get_item(Key=self.link_key(uid, purpose), ConsistentRead=True).get("Item")
        if not item:
            return None
        item = from_ddb(item)
        return StoredLink(uid, purpose, str(item["token_hash"]), int(item["issued_ms"]), int(item["expires_at"]))

    def use_link(self, uid: str, purpose: str, token_hash: str) -> bool:
        try:
            self.table.delete_item(Key=self.link_key(uid, purpose), ConditionExpression="token_hash = :h",
                                   ExpressionAttributeValues={":h": token_hash})
        except ClientError as exc:
            if _conditional_failed(exc):
                return False
            raise
        return True

    def restore_link(self, link: StoredLink) -> None:
        try:
            self.table.put_item(Item={**self.link_key(link.uid, link.purpose), "token_hash": link.token_hash,
                                      "issued_ms": link.issued_ms, "expires_at": link.expires_at},
                                ConditionExpression="attribute_not_exists(pk)")
        except ClientError as exc:
            if not _conditional_failed(exc):
                raise

    def note_send(self, key: str, now: float, window: int, limit: int) -> bool:
        """A sliding window: the send times of the last ``window`` seconds, written only over what was read (a
        concurrent request that loses the race is counted as refused, never as an extra email)."""
        pk = {"pk": f"PWLINK#sent#{key[:300]}", "sk": "SENT"}
        item = self.table.get_item(Key=pk, ConsistentRead=True).get("Item")
        previous = [int(t) for t in (item or {}).get("sent", [])]
        recent = [t for t in previous if t > now - window]
        if len(recent) >= limit:
            return False
        condition = {"ConditionExpression": "attribute_not_exists(pk)"} if item is None else {
            "ConditionExpression": "#s = :s", "ExpressionAttributeNames": {"#s": "sent"},
            "ExpressionAttributeValues": {":s": item.get("sent", [])}}
        try:
            self.table.put_item(Item={**pk, "sent": [*recent, int(now)], "expires_at": int(now) + window}, **condition)
        except ClientError as exc:
            if _conditional_failed(exc):
                return False
            raise
        return True
