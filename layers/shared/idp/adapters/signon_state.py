"""The DynamoDB state of sign-on (``idp.signon.ports.SignonStore``): IdP sessions and the per-user
session epoch, pending login state with its CSRF token, the AuthnRequest / LogoutRequest replay
cache and the login throttle counters, applying the rules of ``idp.signon.policy.SignonPolicy``.
Session and login ids are random 256-bit tokens of which only the SHA-256 is stored, so a table read
does not give away a usable cookie."""

from __future__ import annotations

import time
from secrets import token_hex
from typing import Callable

from botocore.exceptions import ClientError

from idp.adapters.dynamo import from_ddb, to_ddb
from idp.adapters.read_scope import forget, get_item, user_known
from idp.kernel.tokens import hash_token, new_token
from idp.signon.policy import SignonPolicy, Throttle

# Items (one table, see docs/ARCHITECTURE.md). Each but the epoch carries a TTL `expires_at`, and
# readers ignore expired items themselves because moto does not enforce TTL.
#   SESSION#{sha256(sid)}           SESSION   IdP session (with the user's session epoch when it began, and
#                                             pwd_at: when the password was last typed in it)
#   SESSIONEPOCH#{uid}              EPOCH     the user's session epoch; written by the admin API only
#   LOGIN#{sha256(lid)}             LOGIN     pending login (CSRF token, browser binding, what it resumes)
#   SAMLREQ#{slug}#{id}             SEEN      replay cache of AuthnRequest IDs ({slug}#slo#{id}: LogoutRequests)
#   THROTTLE#source#{acct}#{src}    THROTTLE  failures of an account from one address (ip:) or known browser (dev:)
#   THROTTLE#account#{acct}         THROTTLE  failures of an account from browsers it never signed in from
#   THROTTLE#ip#{addr}              THROTTLE  failures from an address (unknown browsers, any account)
# {acct} is the user id, or "?" + a hash of a login name that names no account.


MAX_TOKEN = 128  # longer than any id this store issues (login state, session): nothing to look up


class SignonState:
    @staticmethod
    def usable(token: str | None) -> bool:
        """A login id or session cookie worth looking up (anything longer names nothing we issued)."""
        return bool(token) and len(token) <= MAX_TOKEN

    def __init__(self, table, policy: SignonPolicy | None = None, clock: Callable[[], float] = time.time):
        self.table = table
        self.policy = policy or SignonPolicy()
        self.clock = clock

    def _now(self) -> int:
        return int(self.clock())

    def _get(self, pk: str, sk: str) -> dict | None:
        item = get_item(self.table, {"pk": pk, "sk": sk})
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
            "pk": f"LOGIN#{hash_token(lid)}",
            "sk": "LOGIN",
            "csrf": new_token(),
            "expires_at": self._now() + self.policy.login_state_ttl,
        }
        if pending:
            item["pending"] = to_ddb(pending)
        self.table.put_item(Item=item)
        return lid, from_ddb(item)

    @staticmethod
    def login_key(lid: str) -> dict:
        return {"pk": f"LOGIN#{hash_token(lid)}", "sk": "LOGIN"}

    def get_login(self, lid: str | None) -> dict | None:
        if not self.usable(lid):
            return None
        return self._get(**self.login_key(lid))

    def advance_login(self, lid: str, uid: str, amr: list[str], password_at: int | None = None) -> None:
        """The login is past its password (or is a session's step-up): it names the user, how they signed in so far,
        when the password was typed (``password_at``; None: not in this sign-in) and the user's session epoch now
        (a revocation before the second step is done voids it)."""
        forget(self.login_key(lid))
        values = {":u": uid, ":a": amr, ":e": self.session_epoch(uid)}
        update = "SET uid = :u, amr = :a, epoch = :e"
        if password_at is not None:
            update, values[":p"] = update + ", pwd_at = :p", int(password_at)
        self.table.update_item(Key=self.login_key(lid), UpdateExpression=update, ConditionExpression="attribute_exists(pk)",
                               ExpressionAttributeValues=values)

    def delete_login(self, lid: str | None) -> None:
        if self.usable(lid):
            forget(self.login_key(lid))
            self.table.delete_item(Key=self.login_key(lid))

    # ------------------------------------------------------------------ sessions

    def create_session(self, uid: str, amr: list[str] | None = None, *,
                       ending: tuple[str | None, str | None] = (None, None), password_at: int | None = None) -> tuple[str, dict]:
        """A fresh session (new random id: never reuse a pre-auth id), stamped with the user's session epoch,
        how the user signed in (``amr``: pwd, otp, webauthn) and when the password was last typed (``password_at``;
        None: not in this session). ``ending`` (the login state used up, the old session): deleted in the same
        BatchWriteItem as the session's put."""
        sid = f"{uid}.{new_token()}"  # the user id in front: an SSO reads session and user in one batch
        now = self._now()
        item = {
            "pk": f"SESSION#{hash_token(sid)}",
            "sk": "SESSION",
            "uid": uid,
            "epoch": self.session_epoch(uid),
            "session_index": "_" + token_hex(20),
            "csrf": new_token(),
            "auth_instant": now,
            "amr": list(amr or ["pwd"]),
            "created_at": now,
            "last_seen": now,
            "absolute_expiry": now + self.policy.session_lifetime,
            "expires_at": self.policy.session_expiry(absolute_expiry=now + self.policy.session_lifetime, now=now),
        }
        if password_at is not None:
            item["pwd_at"] = int(password_at)
        lid, old_sid = ending
        gone = ([self.login_key(lid)] if self.usable(lid) else []) + ([self.session_key(old_sid)] if self.usable(old_sid) else [])
        if not gone:
            self.table.put_item(Item=item)
            return sid, from_ddb(item)
        for key in gone:
            forget(key)
        with self.table.batch_writer() as batch:  # one BatchWriteItem (its UnprocessedItems sent again)
            for key in gone:
                batch.delete_item(Key=key)
            batch.put_item(Item=item)
        return sid, from_ddb(item)

    def get_session(self, sid: str | None, touch: bool = True) -> dict | None:
        """The live session for a cookie value, or None (unknown, expired, idle too long, or deleted meanwhile)."""
        if not self.usable(sid):
            return None
        item = self._get(f"SESSION#{hash_token(sid)}", "SESSION")
        if not item:
            return None
        user_known(item["uid"])  # inside an SSO's read scope: its user's items come in one batch now
        now, absolute, last_seen = self._now(), int(item["absolute_expiry"]), int(item["last_seen"])
        if not self.policy.session_alive(absolute_expiry=absolute, last_seen=last_seen, now=now):
            return None
        if touch and self.policy.needs_touch(last_seen=last_seen, now=now):
            expires = self.policy.session_expiry(absolute_expiry=absolute, now=now)
            try:  # an update would create the item again: a logout that just deleted it must win
                self.table.update_item(
                    Key={"pk": item["pk"], "sk": "SESSION"},
                    UpdateExpression="SET last_seen = :n, expires_at = :e",
                    ConditionExpression="attribute_exists(pk)",
                    ExpressionAttributeValues={":n": now, ":e": expires},
                )
            except ClientError as exc:
                if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                    return None
                raise
            item["last_seen"], item["expires_at"] = now, expires
        return item

    def delete_session(self, sid: str | None) -> None:
        if self.usable(sid):
            self.table.delete_item(Key={"pk": f"SESSION#{hash_token(sid)}", "sk": "SESSION"})

    @staticmethod
    def session_key(sid: str) -> dict:
        return {"pk": f"SESSION#{hash_token(sid)}", "sk": "SESSION"}

    @staticmethod
    def claimed_user(sid: str | None) -> str | None:
        """The user id a session cookie names in front of its secret part: a hint for reading ahead, never
        trusted (the session item, found by the hash of the whole value, says whose session it is)."""
        if not SignonState.usable(sid) or "." not in sid:
            return None
        return sid.split(".", 1)[0] or None

    @staticmethod
    def epoch_key(uid: str) -> dict:
        return {"pk": f"SESSIONEPOCH#{uid}", "sk": "EPOCH"}

    def session_epoch(self, uid: str) -> int:
        """The user's session epoch (0 until a first revocation); a session counts only while it carries it."""
        item = get_item(self.table, self.epoch_key(uid))
        return int(item["epoch"]) if item else 0

    def end_sessions(self, uid: str) -> int:
        """Every session of the user ends at once: the epoch moves on (no TTL: it must outlive every session)."""
        forget(self.epoch_key(uid))
        out = self.table.update_item(
            Key=self.epoch_key(uid),
            UpdateExpression="ADD epoch :one SET changed_at = :now",
            ExpressionAttributeValues={":one": 1, ":now": self._now()},
            ReturnValues="UPDATED_NEW",
        )
        return int(out["Attributes"]["epoch"])

    # ------------------------------------------------------------------ throttling

    @staticmethod
    def counter_key(kind: str, key: str) -> dict:
        return {"pk": f"THROTTLE#{kind}#{key[:300]}", "sk": "THROTTLE"}

    def _counter(self, kind: str, key: str) -> dict:
        forget(self.counter_key(kind, key))  # about to be written: a later read in this request asks again
        return self.counter_key(kind, key)

    def throttle(self, kind: str, key: str) -> Throttle:
        """A counter as it stands: failures (0 once forgotten) and seconds left of its delay."""
        item = self._get(**self.counter_key(kind, key))  # in a login's read scope: read with its batch
        now = self._now()
        if not item or self._forgotten(item, now):
            return Throttle(0, 0)
        return Throttle(int(item.get("failures", 0)), max(0, int(item.get("wait_until", 0)) - now))

    def _forgotten(self, item: dict, now: int) -> bool:
        """Quiet for the failure window since the last failure, and since its delay ended (an item of the
        older lockout shape has neither, so it counts as forgotten)."""
        return max(int(item.get("last_failure", 0)), int(item.get("wait_until", 0))) + self.policy.failure_window <= now

    def record_failure(self, kind: str, key: str) -> Throttle:
        """Count a failed sign-in (one write, two when it starts or lengthens a delay); the next try waits
        as the policy says for this many failures."""
        now, key_attrs = self._now(), self._counter(kind, key)
        cut = now - self.policy.failure_window
        expires = now + self.policy.failure_window + self.policy.max_delay  # TTL clean-up only; readers decide
        try:  # add to a live count ...
            out = self.table.update_item(
                Key=key_attrs, UpdateExpression="ADD failures :one SET last_failure = :now, expires_at = :e",
                ConditionExpression="attribute_exists(pk) AND (last_failure > :cut OR wait_until > :cut)",
                ExpressionAttributeValues={":one": 1, ":now": now, ":e": expires, ":cut": cut}, ReturnValues="ALL_NEW",
            )
            failures, wait_until = int(out["Attributes"]["failures"]), int(out["Attributes"]["wait_until"])
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            # ... or start a fresh one (none yet, or the old one is forgotten); a racing first failure may lose a count
            self.table.put_item(Item={**key_attrs, "failures": 1, "last_failure": now, "wait_until": now, "expires_at": expires})
            failures, wait_until = 1, now
        delay_until = now + self.policy.delay_after(kind, failures)
        if delay_until > wait_until:
            try:  # never shorten a delay another failure set meanwhile
                self.table.update_item(
                    Key=key_attrs, UpdateExpression="SET wait_until = :w", ConditionExpression="wait_until < :w",
                    ExpressionAttributeValues={":w": delay_until},
                )
                wait_until = delay_until
            except ClientError as exc:
                if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                    raise
        return Throttle(failures, max(0, wait_until - now))

    def clear_failures(self, kind: str, key: str) -> None:
        self.table.delete_item(Key=self._counter(kind, key))
