"""The login names half of the directory store: a username or email claimed in the same transaction as
the user's change, and one a user released (deleted, or changed) kept in quarantine by a marker item
(``RELEASED#login#{lower}``, idp.directory.quarantine), mixed into `DirectoryStore` over its helpers."""
from __future__ import annotations

from idp.adapters.dynamo import from_ddb, ttl_in
from idp.directory import quarantine
from idp.kernel.clock import now_iso
from idp.kernel.errors import DomainError

# Usernames and emails are claimed in one namespace: a string a person types at the login page names
# at most one account, whether it is somebody's username or somebody's email.
LOGIN_NAMESPACE = "login"


class ReleasedNames:
    """Over `DirectoryStore`'s table, `_get`, `_put_item`, `_unique_put` and its ``quarantine_days``."""

    def _claim(self, items: list, clashes: list, value: str, what: str, uid: str, confirm_reuse: bool) -> None:
        """The writes that claim a login name for ``uid``: the unique item, and its released marker gone, which
        only holds while no other user's quarantine is running on it (any, with ``confirm_reuse``)."""
        items.append(self._unique_put(LOGIN_NAMESPACE, value, uid))
        clashes.append(f"{what} '{value}' is already taken (usernames and emails share one namespace)")
        delete: dict = {"TableName": self.table.name, "Key": self.released_key(value)}
        if not confirm_reuse:
            delete.update(ConditionExpression="attribute_not_exists(pk) OR #o = :o OR #u <= :now",
                          ExpressionAttributeNames={"#o": "owner", "#u": "until"},
                          ExpressionAttributeValues={":o": uid, ":now": now_iso()})
        items.append({"Delete": delete})
        clashes.append(lambda: self._quarantine_clash(value, what, uid))

    def _quarantine_clash(self, value: str, what: str, uid: str):
        marker = self.released_name(value)
        if quarantine.holds(marker, uid, now_iso()):
            return quarantine.conflict(what, value, marker)
        return DomainError(409, "conflict", f"{what} '{value}' changed hands concurrently; try again")

    def _release(self, value: str, uid: str) -> list[dict]:
        """The write that puts a login name ``uid`` gave up into quarantine (none when the period is 0)."""
        if self.quarantine_days <= 0:
            return []
        end = quarantine.until(self.quarantine_days)
        return [self._put_item({**self.released_key(value), "owner": uid, "released_at": now_iso(), "until": end,
                                "expires_at": ttl_in((self.quarantine_days + 1) * 86400)})]

    @staticmethod
    def released_key(value: str) -> dict:
        return {"pk": f"RELEASED#{LOGIN_NAMESPACE}#{value.lower()}", "sk": "RELEASED"}

    def released_name(self, value: str) -> dict | None:
        """The marker of a released login name (``owner``, ``released_at``, ``until``), or None."""
        item = self._get(**self.released_key(value))
        return {k: from_ddb(v) for k, v in item.items() if k in ("owner", "released_at", "until")} if item else None

