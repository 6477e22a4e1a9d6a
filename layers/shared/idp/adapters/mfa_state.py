"""The DynamoDB state of MFA (``idp.signon.mfa.ports.MfaStore``): a user's factors, the hashes of their
recovery codes and the global policy. TOTP seeds are stored sealed (``mfa_keys.SeedSealer``), never
plain; every check-and-set (a TOTP timecode, a passkey's sign counter, a recovery code) is one
conditional write, so two tries racing with one code cannot both pass.

  MFA#{uid}     FACTOR#{id}  type, name, created_at, last_used_at; totp: seed (sealed), last_timecode,
                             pending (+ expires_at until the first code); webauthn: credential_id,
                             public_key, sign_count, transports
  MFA#{uid}     RECOVERY     codes: a string set of SHA-256 hashes
  MFA#{uid}     INDEX        factors: a string set of the ids of the user's live factors (none: no attribute),
                             written in the same transaction as each factor that goes live or goes; an SSO
                             reads it with its batch instead of querying the factors. No INDEX item (a user
                             whose factors predate it): the factors are queried and the index written once.
  MFAPOLICY     POLICY       policy, grace_days, methods, required_since
  MFA#challenge#{sha256}  CHALLENGE  a WebAuthn challenge we issued: purpose, bound_to; TTL, taken once
"""
from __future__ import annotations

import re
import time
from typing import Callable

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from idp.adapters.dynamo import cancelled_by_a_condition, from_ddb, to_ddb
from idp.adapters.hot_items import MFA_POLICY_KEY, HotItems
from idp.adapters.read_scope import get_item
from idp.kernel.clock import now_iso
from idp.kernel.tokens import hash_token
from idp.signon.mfa.policy import MfaPolicy

_POLICY_KEY = MFA_POLICY_KEY  # every sign-in reads it: kept a second by a container (idp.adapters.hot_items)
_FACTOR_ID = re.compile(r"^(totp|pk)-[0-9a-f]{16}$")
_TYPE_OF_ID = {"totp": "totp", "pk": "webauthn"}  # a factor id's prefix names its type


def _conditional(fn) -> bool:
    try:
        fn()
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
            return False
        raise
    return True


class MfaState:
    POLICY_KEY = _POLICY_KEY

    def __init__(self, table, clock: Callable[[], float] = time.time, hot: HotItems | None = None):
        self.table = table
        self.clock = clock
        self.hot = hot or HotItems()

    @staticmethod
    def _key(uid: str, fid: str) -> dict:
        return {"pk": f"MFA#{uid}", "sk": f"FACTOR#{fid}"}

    @staticmethod
    def index_key(uid: str) -> dict:
        return {"pk": f"MFA#{uid}", "sk": "INDEX"}

    @staticmethod
    def _ours(fid: str) -> bool:
        """A factor id this store issued (anything else names no factor: never a key DynamoDB refuses)."""
        return bool(_FACTOR_ID.match(fid or ""))

    # ------------------------------------------------------------------ policy

    def get_policy(self) -> MfaPolicy:
        item = get_item(self.table, dict(_POLICY_KEY))  # in an SSO's read scope: read with the app and the session
        if not item:
            return MfaPolicy()
        item = from_ddb(item)
        return MfaPolicy(policy=item["policy"], grace_days=int(item["grace_days"]), methods=tuple(item["methods"]),
                         required_since=int(item["required_since"]) if item.get("required_since") is not None else None)

    def put_policy(self, policy: MfaPolicy) -> None:
        try:
            self.table.put_item(Item={**_POLICY_KEY, **policy.view(), "required_since": policy.required_since, "updated_at": now_iso()})
        finally:
            self.hot.forget(_POLICY_KEY)  # this container's sign-ins see it at once

    # ------------------------------------------------------------------ factors

    def factors(self, uid: str, *, include_pending: bool = False) -> list[dict]:
        out, start = [], None
        now = int(self.clock())
        while True:
            kw = {"KeyConditionExpression": Key("pk").eq(f"MFA#{uid}") & Key("sk").begins_with("FACTOR#"), "ConsistentRead": True}
            if start:
                kw["ExclusiveStartKey"] = start
            page = self.table.query(**kw)
            for raw in page.get("Items", []):
                item = from_ddb(raw)
                if item.get("pending") and (not include_pending or int(item.get("expires_at", 0)) <= now):
                    continue
                out.append(item)
            start = page.get("LastEvaluatedKey")
            if not start:
                return out

    def factor_types(self, uid: str) -> list[str]:
        """The types of the user's live factors, from the index (in an SSO's read scope: read with its batch)."""
        index = get_item(self.table, self.index_key(uid))
        if index is None:
            return sorted(f["type"] for f in self._write_index(uid))
        return sorted(_TYPE_OF_ID[fid.split("-", 1)[0]] for fid in index.get("factors") or ())

    def _write_index(self, uid: str) -> list[dict]:
        """Index the user's factors when no index exists yet (an index written meanwhile wins: it is newer)."""
        factors = self.factors(uid)
        item = {**self.index_key(uid), **({"factors": {f["id"] for f in factors}} if factors else {})}
        _conditional(lambda: self.table.put_item(Item=item, ConditionExpression="attribute_not_exists(pk)"))
        return factors

    def _ensure_index(self, uid: str) -> None:
        """Before a factor goes live or goes: an index to change (a factor from before the index is in it)."""
        if self.table.get_item(Key=self.index_key(uid), ConsistentRead=True).get("Item") is None:
            self._write_index(uid)

    def _index_change(self, uid: str, op: str, fid: str) -> dict:
        """The transaction element that ADDs `fid` to the index or DELETEs it."""
        return {"Update": {"TableName": self.table.name, "Key": self.index_key(uid), "UpdateExpression": f"{op} factors :f",
                           "ExpressionAttributeValues": {":f": {fid}}}}

    def _transact(self, items: list[dict]) -> bool:
        """One transaction; False when one of its conditions failed."""
        try:
            self.table.meta.client.transact_write_items(TransactItems=items)
        except ClientError as exc:
            if cancelled_by_a_condition(exc):
                return False
            raise
        return True

    def get_factor(self, uid: str, fid: str) -> dict | None:
        if not self._ours(fid):
            return None
        item = self.table.get_item(Key=self._key(uid, fid), ConsistentRead=True).get("Item")
        if not item:
            return None
        item = from_ddb(item)
        if item.get("pending") and int(item.get("expires_at", 0)) <= int(self.clock()):
            return None
        return item

    def put_factor(self, uid: str, factor: dict, *, pending_ttl: int | None = None) -> None:
        item = {**self._key(uid, factor["id"]), **to_ddb({k: v for k, v in factor.items() if v is not None})}
        if pending_ttl:
            item.update(pending=True, expires_at=int(self.clock()) + pending_ttl)
            self.table.put_item(Item=item)
            return
        self._ensure_index(uid)
        self._transact([{"Put": {"TableName": self.table.name, "Item": item}}, self._index_change(uid, "ADD", factor["id"])])

    def confirm_factor(self, uid: str, fid: str, *, timecode: int, now: int) -> bool:
        self._ensure_index(uid)
        return self._transact([
            {"Update": {"TableName": self.table.name, "Key": self._key(uid, fid),
                        "UpdateExpression": "SET last_timecode = :tc, last_used_at = :at REMOVE pending, expires_at",
                        "ConditionExpression": "attribute_exists(pk) AND pending = :t AND expires_at > :now",
                        "ExpressionAttributeValues": {":tc": timecode, ":at": now_iso(), ":t": True, ":now": now}}},
            self._index_change(uid, "ADD", fid)])

    def accept_timecode(self, uid: str, fid: str, timecode: int, now: int) -> bool:
        return _conditional(lambda: self.table.update_item(
            Key=self._key(uid, fid), UpdateExpression="SET last_timecode = :tc, last_used_at = :at",
            ConditionExpression="attribute_exists(pk) AND attribute_not_exists(pending) AND "
                                "(attribute_not_exists(last_timecode) OR last_timecode < :tc)",
            ExpressionAttributeValues={":tc": timecode, ":at": now_iso()}))

    def update_sign_count(self, uid: str, fid: str, sign_count: int, now: int) -> bool:
        return _conditional(lambda: self.table.update_item(
            Key=self._key(uid, fid), UpdateExpression="SET sign_count = :n, last_used_at = :at",
            ConditionExpression="attribute_exists(pk) AND (sign_count < :n OR (sign_count = :zero AND :n = :zero))",
            ExpressionAttributeValues={":n": sign_count, ":zero": 0, ":at": now_iso()}))

    def rename_factor(self, uid: str, fid: str, name: str) -> bool:
        return self._ours(fid) and _conditional(lambda: self.table.update_item(
            Key=self._key(uid, fid), UpdateExpression="SET #n = :n", ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeNames={"#n": "name"}, ExpressionAttributeValues={":n": name}))

    def delete_factor(self, uid: str, fid: str) -> bool:
        if not self._ours(fid):
            return False
        self._ensure_index(uid)
        return self._transact([
            {"Delete": {"TableName": self.table.name, "Key": self._key(uid, fid), "ConditionExpression": "attribute_exists(pk)"}},
            self._index_change(uid, "DELETE", fid)])

    def delete_all(self, uid: str) -> int:
        factors = self.factors(uid, include_pending=True)
        live = [f for f in factors if not f.get("pending")]
        if live:
            self._ensure_index(uid)
        for f in live:  # each with its index entry, as delete_factor does: an enrolment racing a reset stays indexed
            self._transact([{"Delete": {"TableName": self.table.name, "Key": self._key(uid, f["id"])}},
                            self._index_change(uid, "DELETE", f["id"])])
        with self.table.batch_writer() as batch:
            for f in factors:
                if f.get("pending"):
                    batch.delete_item(Key=self._key(uid, f["id"]))
            batch.delete_item(Key={"pk": f"MFA#{uid}", "sk": "RECOVERY"})
        return len(live)

    # ------------------------------------------------------------------ recovery codes

    def put_recovery(self, uid: str, hashes: list[str]) -> None:
        self.table.put_item(Item={"pk": f"MFA#{uid}", "sk": "RECOVERY", "codes": set(hashes), "created_at": now_iso()})

    def recovery_left(self, uid: str) -> int:
        item = self.table.get_item(Key={"pk": f"MFA#{uid}", "sk": "RECOVERY"}, ConsistentRead=True).get("Item")
        return len(item.get("codes") or ()) if item else 0

    def use_recovery(self, uid: str, code_hash: str) -> bool:
        return _conditional(lambda: self.table.update_item(
            Key={"pk": f"MFA#{uid}", "sk": "RECOVERY"}, UpdateExpression="DELETE codes :c",
            ConditionExpression="contains(codes, :h)", ExpressionAttributeValues={":c": {code_hash}, ":h": code_hash}))

    # ------------------------------------------------------------------ WebAuthn challenges

    def put_challenge(self, challenge: str, *, purpose: str, bound_to: str, ttl: int) -> None:
        self.table.put_item(Item={"pk": f"MFA#challenge#{hash_token(challenge)}", "sk": "CHALLENGE", "purpose": purpose,
                                  "bound_to": bound_to, "expires_at": int(self.clock()) + ttl})

    def take_challenge(self, challenge: str, *, purpose: str, bound_to: str) -> bool:
        """True once for a live challenge we issued for this purpose and binding (it is deleted as it is taken)."""
        try:
            self.table.delete_item(
                Key={"pk": f"MFA#challenge#{hash_token(challenge[:200])}", "sk": "CHALLENGE"},
                ConditionExpression="purpose = :p AND bound_to = :b AND expires_at > :now",
                ExpressionAttributeValues={":p": purpose, ":b": bound_to, ":now": int(self.clock())})
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True
