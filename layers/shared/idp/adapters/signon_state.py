"""The DynamoDB state of sign-on (``idp.signon.ports.SignonStore``): IdP sessions, pending login
state with its CSRF token, the AuthnRequest replay cache and login throttling, applying the rules
of ``idp.signon.policy.SignonPolicy``. Session and login ids are random 256-bit tokens of which only
the SHA-256 is stored, so a table read does not give away a usable cookie."""

from __future__ import annotations

import time
from secrets import token_hex
from typing import Callable

from botocore.exceptions import ClientError

from idp.adapters.dynamo import from_ddb, to_ddb
from idp.kernel.tokens import hash_token, new_token
from idp.signon.policy import SignonPolicy

# Items (one table, see docs/ARCHITECTURE.md). Each carries a TTL `expires_at`, and readers ignore
# expired items themselves because moto does not enforce TTL.
#   SESSION#{sha256(sid)}  SESSION   IdP session
#   LOGIN#{sha256(lid)}    LOGIN     pending login (CSRF token, browser binding, what it resumes)
#   SAMLREQ#{slug}#{id}    SEEN      replay cache of inbound request IDs
#   THROTTLE#user#{name}   THROTTLE  failed logins of a login name
#   THROTTLE#ip#{addr}     THROTTLE  failed logins from an address
_h = hash_token


class SignonState:
    def __init__(self, table, policy: SignonPolicy | None = None, clock: Callable[[], float] = time.time):
        self.table = table
        self.policy = policy or SignonPolicy()
        self.clock = clock

    def _now(self) -> int:
        return int(self.clock())

    def _get(self, pk: str, sk: str) -> dict | None:
        item = self.table.get_item(Key={"pk": pk, "sk": sk}, ConsistentRead=True).get("Item")
        if not item:
            return None
        item = from_ddb(item)
        if int(item.get("expires_at", 0)) <= self._now():
            return None
        return item

    # ------------------------------------------------------------------ replay cache

    def seen_request(self, slug: str, request_id: str) -> bool:
        """Check-and-mark: True when this request ID was already used for this app."""
        now = self._now()
        try:
            self.table.put_item(
                Item={"pk": f"SAMLREQ#{slug}#{request_id}", "sk": "SEEN", "expires_at": now + self.policy.replay_ttl, "at": now},
                ConditionExpression="attribute_not_exists(pk) OR expires_at <= :now",
                ExpressionAttributeValues={":now": now},
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return True
            raise
        return False

    # ------------------------------------------------------------------ login state

    def new_login(self, pending: dict | None = None) -> tuple[str, dict]:
        """A pre-auth state: returns (login id for the cookie and form, the item with its csrf)."""
        lid = new_token()
        item = {
            "pk": f"LOGIN#{_h(lid)}",
            "sk": "LOGIN",
            "csrf": new_token(),
            "expires_at": self._now() + self.policy.login_state_ttl,
        }
        if pending:
            item["pending"] = to_ddb(pending)
        self.table.put_item(Item=item)
        return lid, from_ddb(item)

    def get_login(self, lid: str | None) -> dict | None:
        if not lid or len(lid) > 128:
            return None
        return self._get(f"LOGIN#{_h(lid)}", "LOGIN")

    def delete_login(self, lid: str | None) -> None:
        if lid and len(lid) <= 128:
            self.table.delete_item(Key={"pk": f"LOGIN#{_h(lid)}", "sk": "LOGIN"})

    # ------------------------------------------------------------------ sessions

    def create_session(self, uid: str) -> tuple[str, dict]:
        """A fresh session (new random id: never reuse a pre-auth id)."""
        sid = new_token()
        now = self._now()
        item = {
            "pk": f"SESSION#{_h(sid)}",
            "sk": "SESSION",
            "uid": uid,
            "session_index": "_" + token_hex(20),
            "csrf": new_token(),
            "auth_instant": now,
            "created_at": now,
            "last_seen": now,
            "absolute_expiry": now + self.policy.session_lifetime,
            "expires_at": self.policy.session_expiry(absolute_expiry=now + self.policy.session_lifetime, now=now),
        }
        self.table.put_item(Item=item)
        return sid, from_ddb(item)

    def get_session(self, sid: str | None, touch: bool = True) -> dict | None:
        """The live session for a cookie value, or None (unknown, expired or idle too long)."""
        if not sid or len(sid) > 128:
            return None
        item = self._get(f"SESSION#{_h(sid)}", "SESSION")
        if not item:
            return None
        now, absolute, last_seen = self._now(), int(item["absolute_expiry"]), int(item["last_seen"])
        if not self.policy.session_alive(absolute_expiry=absolute, last_seen=last_seen, now=now):
            return None
        if touch and self.policy.needs_touch(last_seen=last_seen, now=now):
            expires = self.policy.session_expiry(absolute_expiry=absolute, now=now)
            self.table.update_item(
                Key={"pk": item["pk"], "sk": "SESSION"},
                UpdateExpression="SET last_seen = :n, expires_at = :e",
                ExpressionAttributeValues={":n": now, ":e": expires},
            )
            item["last_seen"], item["expires_at"] = now, expires
        return item

    def delete_session(self, sid: str | None) -> None:
        if sid and len(sid) <= 128:
            self.table.delete_item(Key={"pk": f"SESSION#{_h(sid)}", "sk": "SESSION"})

    # ------------------------------------------------------------------ throttling

    def locked_for(self, kind: str, key: str) -> int:
        """Seconds left of a lockout for ``kind`` (``user``/``ip``) and ``key``; 0 when free."""
        item = self._get(f"THROTTLE#{kind}#{key}", "THROTTLE")
        if not item:
            return 0
        return max(0, int(item.get("locked_until", 0)) - self._now())

    def record_failure(self, kind: str, key: str) -> int:
        """Count a failed sign-in; lock when the limit is reached. Returns the failure count."""
        now = self._now()
        pk = f"THROTTLE#{kind}#{key}"
        window_end = now + self.policy.failure_window
        try:
            # A new window when there is none (or the old one has ended)
            self.table.put_item(
                Item={"pk": pk, "sk": "THROTTLE", "failures": 1, "window_ends": window_end,
                      "locked_until": 0, "expires_at": window_end + self.policy.lockout},
                ConditionExpression="attribute_not_exists(pk) OR (window_ends <= :now AND locked_until <= :now)",
                ExpressionAttributeValues={":now": now},
            )
            count = 1
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            out = self.table.update_item(
                Key={"pk": pk, "sk": "THROTTLE"},
                UpdateExpression="ADD failures :one",
                ExpressionAttributeValues={":one": 1},
                ReturnValues="ALL_NEW",
            )
            count = int(out["Attributes"]["failures"])
        if count >= self.policy.max_failures(kind):
            until = now + self.policy.lockout
            self.table.update_item(
                Key={"pk": pk, "sk": "THROTTLE"},
                UpdateExpression="SET locked_until = :u, expires_at = :e",
                ExpressionAttributeValues={":u": until, ":e": until + 60},
            )
        return count

    def clear_failures(self, kind: str, key: str) -> None:
        self.table.delete_item(Key={"pk": f"THROTTLE#{kind}#{key}", "sk": "THROTTLE"})
