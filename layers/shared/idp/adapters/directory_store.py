"""DynamoDB adapter for the directory: users, groups, membership, apps and access bindings.

One table, items keyed as docs/ARCHITECTURE.md lays out. Writes that change what provisioning
must do carry their change events into the same transaction (the outbox), so a change and the
news of it are stored together or not at all.

Longer than 400 lines because it is the directory's one store port (users and their login names, groups and
memberships, batch creates, the outbox); issue 24's narrow ports split it.
"""
from __future__ import annotations

from typing import Any, Iterable, Sequence

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from idp.adapters import app_revisions as revisions
from idp.adapters.directory_apps import AppRecords
from idp.adapters.directory_keys import clean as _clean
from idp.adapters.directory_keys import user_binding_key, user_key
from idp.adapters.dynamo import decode_cursor, encode_cursor, from_ddb, new_id
from idp.adapters.hot_items import HotItems
from idp.adapters.read_scope import get_item, in_scope, prefetch, user_known
from idp.adapters.released_names import LOGIN_NAMESPACE, ReleasedNames
from idp.adapters.source_records import SourceRecords, owner_keys
from idp.directory import quarantine
from idp.directory.ports import OutboxItem
from idp.kernel.clock import now_iso
from idp.kernel.errors import DomainError, conflict, not_found
from idp.kernel.events import ChangeEvent

MAX_PAGE = 200
MAX_MEMBERSHIP_READS = 40  # bound groups checked item by item in an SSO's read scope; past it one Query of the user's groups
_ITEM_PK = {"USERS": "USER#", "GROUPS": "GROUP#", "APPS": "APP#", "SOURCES": "SOURCE#"}  # gsi1 listing -> its items' pk prefix


def _login_names(username: str, email: str) -> list[tuple[str, str]]:
    """The login names a user claims: (value, "username"|"email"); one when they are the same string."""
    names = [(username, "username")]
    if email.lower() != username.lower():
        names.append((email, "email"))
    return names


def _owner_marks(kind: str, ident: str, record: dict) -> dict:
    """The gsi2 keys of a user or group a source owns (`source_id` in the record): its source lists it in one Query."""
    return owner_keys(record["source_id"], kind, ident) if record.get("source_id") else {}


class DirectoryStore(AppRecords, ReleasedNames, SourceRecords):
    """Users, groups, membership, apps and bindings in the directory table. ``quarantine_days``: how long a
    login name a user released stays unusable by another user (idp.directory.quarantine; 0: not at all)."""

    def __init__(self, table, quarantine_days: int = quarantine.DEFAULT_DAYS, hot: HotItems | None = None):
        self.table = table
        self.quarantine_days = quarantine_days
        self.revisions = revisions.RevisionCache()  # this container's copies of app configs and bound groups
        self.hot = hot or HotItems()  # the apps' REV items every sign-in reads, kept a second: dropped as written

    @property
    def _ddb(self):
        return self.table.meta.client

    # ---------- low level ----------
    def _outbox_puts(self, events: Iterable[dict]) -> list[dict]:
        return [
            {"Put": {"TableName": self.table.name, "Item": {"pk": "OUTBOX", "sk": f"{e['at']}#{e['event_id']}", "event": e}}}
            for e in events
        ]

    def _transact(self, items: list[dict], clash_messages: list[str | None]) -> None:
        """Run a transaction; a failed condition becomes a 409 naming what clashed."""
        try:
            self._ddb.transact_write_items(TransactItems=items)
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "TransactionCanceledException":
                raise
            reasons = exc.response.get("CancellationReasons") or []
            for i, reason in enumerate(reasons):
                if reason.get("Code") == "ConditionalCheckFailed":
                    msg = clash_messages[i] if i < len(clash_messages) else None
                    if callable(msg):  # an error that reads what clashed (a released name's quarantine)
                        raise msg() from None
                    raise conflict(msg or "the record changed or already exists") from None
            raise DomainError(409, "conflict", "the change clashed with a concurrent change; try again") from None
        finally:
            self._forget_hot(items)  # written, or perhaps written (a timeout): read again either way

    def _forget_hot(self, items: list[dict]) -> None:
        """The hot items (an app's REV) a transaction wrote, or may have: this container reads them again."""
        for op in items:
            body = next(iter(op.values()))
            key = body.get("Key") or body.get("Item")
            if key and "pk" in key and "sk" in key:
                self.hot.forget({"pk": key["pk"], "sk": key["sk"]})

    def _put_item(self, item: dict) -> dict:
        return {"Put": {"TableName": self.table.name, "Item": item}}

    def _query_all(self, **kwargs) -> list[dict]:
        items, start = [], None
        while True:
            if start:
                kwargs["ExclusiveStartKey"] = start
            page = self.table.query(**kwargs)
            items.extend(page.get("Items", []))
            start = page.get("LastEvaluatedKey")
            if not start:
                return items

    def _page(self, gsi1pk: str, limit: int | None, cursor: str | None) -> tuple[list[dict], str | None]:
        limit = max(1, min(int(limit or 50), MAX_PAGE))
        kwargs: dict[str, Any] = {
            "IndexName": "gsi1",
            "KeyConditionExpression": Key("gsi1pk").eq(gsi1pk),
            "Limit": limit,
        }
        # A gsi1 page's key: the index's keys and the table's (pk USER#u-1 / sk PROFILE, gsi1pk USERS).
        start = decode_cursor(cursor, {"gsi1pk": gsi1pk, "gsi1sk": "", "pk": _ITEM_PK[gsi1pk], "sk": ""})
        if start:
            kwargs["ExclusiveStartKey"] = start
        page = self.table.query(**kwargs)
        return [_clean(i) for i in page.get("Items", [])], encode_cursor(page.get("LastEvaluatedKey"))

    def _gsi1_keys(self, gsi1pk: str) -> list[str]:
        """Every id (or slug) of one gsi1 listing: USERS, GROUPS or APPS."""
        return [i["gsi1sk"] for i in self._query_all(IndexName="gsi1", KeyConditionExpression=Key("gsi1pk").eq(gsi1pk),
                                                     ProjectionExpression="gsi1sk")]

    def _get(self, pk: str, sk: str, consistent: bool = True) -> dict | None:
        return get_item(self.table, {"pk": pk, "sk": sk}, consistent)

    def _next_version(self, current: dict, changes: dict, drop_none: bool = False) -> tuple[dict, dict]:
        """(the item with `changes` and the next version, the Put that writes it only over the version
        read): optimistic concurrency, so two writers of one item never both win. `drop_none`: a None
        in `changes` removes the attribute (apps) instead of storing a null (users, groups)."""
        new = {**current, **changes, "updated_at": now_iso(), "version": int(current.get("version", 1)) + 1}
        if drop_none:
            new = {k: v for k, v in new.items() if v is not None}
        put = {
            "Put": {
                "TableName": self.table.name, "Item": new,
                "ConditionExpression": "#v = :v",
                "ExpressionAttributeNames": {"#v": "version"},
                "ExpressionAttributeValues": {":v": current.get("version", 1)},
            }
        }
        return new, put

    def _versioned_update(self, key: dict, before: dict, fields: dict) -> tuple[dict, dict]:
        """(the record with `fields` and the next version, the Update that writes just those attributes only over
        the version `before` has): `_next_version` for a caller that already holds the record."""
        new = {**before, **fields, "updated_at": now_iso(), "version": int(before.get("version", 1)) + 1}
        names = {f"#a{i}": name for i, name in enumerate([*fields, "updated_at"])}
        values = {f":a{i}": new[name] for i, name in enumerate([*fields, "updated_at"])}
        sets = [f"#a{i} = :a{i}" for i in range(len(names))]
        update = {
            "Update": {
                "TableName": self.table.name, "Key": key,
                "UpdateExpression": "SET " + ", ".join([*sets, "#v = :next"]),
                "ConditionExpression": "#v = :v",
                "ExpressionAttributeNames": {**names, "#v": "version"},
                "ExpressionAttributeValues": {**values, ":v": before.get("version", 1), ":next": new["version"]},
            }
        }
        return new, update

    # ---------- users ----------
    def create_user(self, fields: dict, password_hash: str | None, events_for, confirm_reuse: bool = False) -> dict:
        item, items, clashes = self._new_user(fields, password_hash, confirm_reuse)
        self._transact(items + self._outbox_puts(events_for(_clean(item))), clashes)
        return _clean(item)

    def create_users(self, many: list[dict], events_for) -> list[dict]:
        """Several users (no password, no confirmed reuse) in one transaction, all or none (a CSV import's batch:
        at most 16, as each takes up to six of a transaction's 100 items); a clash cancels every one of them."""
        made = [self._new_user(fields, None, False) for fields in many]
        items = [op for _item, ops, _clashes in made for op in ops]
        clashes = [c for _item, _ops, cs in made for c in cs]
        self._transact(items + self._outbox_puts(e for item, _ops, _cs in made for e in events_for(_clean(item))), clashes)
        return [_clean(item) for item, _ops, _cs in made]

    def _new_user(self, fields: dict, password_hash: str | None, confirm_reuse: bool) -> tuple[dict, list[dict], list]:
        """A new user's item, the writes that create it (the profile, its login names claimed), their clash messages."""
        uid = new_id("u")
        ts = now_iso()
        user = {**{k: v for k, v in fields.items() if v is not None}, "id": uid, "created_at": ts, "updated_at": ts, "version": 1}
        item = {"pk": f"USER#{uid}", "sk": "PROFILE", "gsi1pk": "USERS", "gsi1sk": uid, "kind": "user", **user,
                **_owner_marks("user", uid, user)}
        if password_hash:
            item["password_hash"] = password_hash
        items = [{"Put": {"TableName": self.table.name, "Item": item, "ConditionExpression": "attribute_not_exists(pk)"}}]
        clashes: list = [None]
        for value, what in _login_names(user["username"], user["email"]):
            self._claim(items, clashes, value, what, uid, confirm_reuse)
        return item, items, clashes

    def _unique_put(self, field: str, value: str, owner: str) -> dict:
        return {
            "Put": {
                "TableName": self.table.name,
                "Item": {"pk": f"UNIQUE#{field}#{value.lower()}", "sk": "UNIQUE", "owner": owner},
                "ConditionExpression": "attribute_not_exists(pk) OR #o = :o",
                "ExpressionAttributeNames": {"#o": "owner"},
                "ExpressionAttributeValues": {":o": owner},
            }
        }

    def _unique_delete(self, field: str, value: str) -> dict:
        return {"Delete": {"TableName": self.table.name, "Key": {"pk": f"UNIQUE#{field}#{value.lower()}", "sk": "UNIQUE"}}}

    def read_ahead(self, uids: Iterable[str] = (), gids: Iterable[str] = ()) -> int:
        """Inside a read scope (`idp.adapters.read_scope.request_reads`): read the profiles of `uids` and the
        groups of `gids` in BatchGetItems of 100, so `get_user` and `get_group` answer from the scope.
        Returns the DynamoDB calls made (0 outside a scope)."""
        keys = [{"pk": f"USER#{u}", "sk": "PROFILE"} for u in uids] + [{"pk": f"GROUP#{g}", "sk": "META"} for g in gids]
        return sum(prefetch(self.table, keys[i : i + 300]) for i in range(0, len(keys), 300))

    def get_user_item(self, uid: str) -> dict | None:
        """The raw user item, password hash included (for sign-in only)."""
        return self._get(f"USER#{uid}", "PROFILE")

    def get_user(self, uid: str) -> dict | None:
        item = self.get_user_item(uid)
        return _clean(item) if item else None

    def user_record(self, uid: str) -> tuple[dict | None, list[str], list[str]]:
        """The user (None when deleted), the apps it is bound to directly and its groups, from ONE strongly
        consistent Query of the user's partition (profile, `APP#` bindings, `MEMBEROF#` memberships) instead of
        a GetItem and two Queries: what provisioning reads first of every user it syncs."""
        user, apps, groups = None, [], []
        for item in self._query_all(KeyConditionExpression=Key("pk").eq(f"USER#{uid}"), ConsistentRead=True):
            sk = item["sk"]
            if sk == "PROFILE":
                user = _clean(item)
            elif sk.startswith("APP#"):
                apps.append(sk[4:])
            elif sk.startswith("MEMBEROF#"):
                groups.append(sk[9:])
        return user, apps, groups

    def find_user_id(self, field: str, value: str) -> str | None:
        """The user whose username or email is `value`, case-insensitively. Usernames and emails share
        one namespace, so a login string names one account whichever `field` is asked for."""
        item = get_item(self.table, self.login_name_key(value))
        if item:
            user_known(item["owner"])  # in a login's read scope: the account's items come in one batch now
        return item["owner"] if item else None

    @staticmethod
    def login_name_key(value: str) -> dict:
        return {"pk": f"UNIQUE#{LOGIN_NAMESPACE}#{value.lower()}", "sk": "UNIQUE"}

    def list_users(self, limit=None, cursor=None):
        return self._page("USERS", limit, cursor)

    def all_user_ids(self) -> list[str]:
        return self._gsi1_keys("USERS")

    def update_user(self, uid: str, changes: dict, password_hash: str | None, events_for, confirm_reuse: bool = False,
                    before: dict | None = None) -> dict:
        """`before`: the user as the caller just read it (`get_user`): the write is conditioned on its version
        instead of reading the item again (an UpdateItem of the changed attributes, not a Put of the whole item)."""
        fields = {**changes, **({"password_hash": password_hash} if password_hash else {}), **_owner_marks("user", uid, changes)}
        if before is None:
            current = self.get_user_item(uid)
            if not current:
                raise not_found("user", uid)
            new, write = self._next_version(current, fields)
        else:
            current = before
            new, write = self._versioned_update(user_key(uid), before, fields)
        items = [write]
        clashes: list = ["the user changed concurrently; try again"]
        held = {v.lower() for v, _ in _login_names(current["username"], current["email"])}
        after = _login_names(new["username"], new["email"])
        for value, what in after:
            if value.lower() not in held:
                self._claim(items, clashes, value, what, uid, confirm_reuse)
        for value in held - {v.lower() for v, _ in after}:
            released = [self._unique_delete(LOGIN_NAMESPACE, value), *self._release(value, uid)]
            items += released
            clashes += [None] * len(released)
        self._transact(items + self._outbox_puts(events_for(_clean(new))), clashes)
        return _clean(new)

    def delete_user(self, uid: str, events_for) -> None:
        current = self.get_user_item(uid)
        if not current:
            raise not_found("user", uid)
        related = self._query_all(KeyConditionExpression=Key("pk").eq(f"USER#{uid}"))
        mirrors = []
        for rel in related:
            if rel["sk"].startswith("MEMBEROF#"):
                mirrors.append({"pk": f"GROUP#{rel['sk'][9:]}", "sk": f"MEMBER#{uid}"})
            elif rel["sk"].startswith("APP#"):
                mirrors.append({"pk": f"APP#{rel['sk'][4:]}", "sk": f"BIND#USER#{uid}"})
        # The profile, its unique claims and the outbox go in one transaction; edges after it.
        items = [{"Delete": {"TableName": self.table.name, "Key": {"pk": f"USER#{uid}", "sk": "PROFILE"}}}]
        for value, _ in _login_names(current["username"], current["email"]):
            items += [self._unique_delete(LOGIN_NAMESPACE, value), *self._release(value, uid)]
        self._transact(items + self._outbox_puts(events_for(_clean(current))), [])
        with self.table.batch_writer() as batch:
            for rel in related:
                if rel["sk"] != "PROFILE":
                    batch.delete_item(Key={"pk": rel["pk"], "sk": rel["sk"]})
            for key in mirrors:
                batch.delete_item(Key=key)

    # ---------- groups ----------
    def create_group(self, fields: dict, events_for) -> dict:
        gid = new_id("g")
        ts = now_iso()
        group = {**{k: v for k, v in fields.items() if v is not None}, "id": gid, "created_at": ts, "updated_at": ts, "version": 1}
        item = {"pk": f"GROUP#{gid}", "sk": "META", "gsi1pk": "GROUPS", "gsi1sk": gid, "kind": "group", **group,
                **_owner_marks("group", gid, group)}
        self._transact(
            [
                {"Put": {"TableName": self.table.name, "Item": item, "ConditionExpression": "attribute_not_exists(pk)"}},
                self._unique_put("groupname", group["name"], gid),
            ] + self._outbox_puts(events_for(group)),
            [None, f"a group named '{group['name']}' already exists"],
        )
        return _clean(item)

    def get_group(self, gid: str) -> dict | None:
        item = self._get(f"GROUP#{gid}", "META")
        return _clean(item) if item else None

    def list_groups(self, limit=None, cursor=None):
        return self._page("GROUPS", limit, cursor)

    def all_group_ids(self) -> list[str]:
        return self._gsi1_keys("GROUPS")

    def update_group(self, gid: str, changes: dict, events_for) -> dict:
        current = self._get(f"GROUP#{gid}", "META")
        if not current:
            raise not_found("group", gid)
        new, put = self._next_version(current, {**changes, **_owner_marks("group", gid, changes)})
        items = [put]
        clashes: list[str | None] = ["the group changed concurrently; try again"]
        if "name" in changes and changes["name"].lower() != current["name"].lower():
            items += [self._unique_put("groupname", changes["name"], gid), self._unique_delete("groupname", current["name"])]
            clashes += [f"a group named '{changes['name']}' already exists", None]
        self._transact(items + self._outbox_puts(events_for(_clean(new))), clashes)
        return _clean(new)

    def delete_group(self, gid: str, events_for) -> None:
        current = self._get(f"GROUP#{gid}", "META")
        if not current:
            raise not_found("group", gid)
        related = self._query_all(KeyConditionExpression=Key("pk").eq(f"GROUP#{gid}"))
        self._transact(
            [
                {"Delete": {"TableName": self.table.name, "Key": {"pk": f"GROUP#{gid}", "sk": "META"}}},
                self._unique_delete("groupname", current["name"]),
            ] + self._outbox_puts(events_for(_clean(current))),
            [],
        )
        with self.table.batch_writer() as batch:
            for rel in related:
                if rel["sk"] == "META":
                    continue
                batch.delete_item(Key={"pk": rel["pk"], "sk": rel["sk"]})
                if rel["sk"].startswith("MEMBER#"):
                    batch.delete_item(Key={"pk": f"USER#{rel['sk'][7:]}", "sk": f"MEMBEROF#{gid}"})
                elif rel["sk"].startswith("APP#"):
                    batch.delete_item(Key={"pk": f"APP#{rel['sk'][4:]}", "sk": f"BIND#GROUP#{gid}"})
        for rel in related:  # after the bindings went (app_revisions says why not before)
            if rel["sk"].startswith("APP#"):
                self._ddb.update_item(**revisions.bump(self.table.name, rel["sk"][4:], revisions.GROUPS)["Update"])
                self.hot.forget(revisions.rev_key(rel["sk"][4:]))

    def add_member(self, gid: str, uid: str, events: Sequence[ChangeEvent]) -> None:
        self._edge(True, ("GROUP", gid, "MEMBER", uid), ("USER", uid, "MEMBEROF", gid), events)

    def remove_member(self, gid: str, uid: str, events: Sequence[ChangeEvent]) -> None:
        self._edge(False, ("GROUP", gid, "MEMBER", uid), ("USER", uid, "MEMBEROF", gid), events)

    def _edge(self, add: bool, a: tuple, b: tuple, events: Sequence[ChangeEvent], also: tuple[dict, ...] = ()) -> None:
        ts = now_iso()
        keys = [{"pk": f"{a[0]}#{a[1]}", "sk": f"{a[2]}#{a[3]}"}, {"pk": f"{b[0]}#{b[1]}", "sk": f"{b[2]}#{b[3]}"}]
        if add:
            ops = [self._put_item({**k, "created_at": ts}) for k in keys]
        else:
            ops = [{"Delete": {"TableName": self.table.name, "Key": k}} for k in keys]
        ops += list(also)
        self._transact(ops + self._outbox_puts(events[: 100 - len(ops)]), [])

    def is_member(self, gid: str, uid: str) -> bool:
        return self._get(f"GROUP#{gid}", f"MEMBER#{uid}") is not None

    def user_bound(self, slug: str, uid: str) -> bool:
        """The direct binding, read as its mirror under the user (user_binding_key: an SSO's read scope
        holds it; the app's own item would be a hot key every sign-in to the app reads)."""
        key = user_binding_key(slug, uid)
        return self._get(key["pk"], key["sk"]) is not None

    def group_bound(self, slug: str, gid: str) -> bool:
        return self._get(f"APP#{slug}", f"BIND#GROUP#{gid}") is not None

    def _children(self, pk: str, prefix: str) -> list[str]:
        """Members, memberships and bindings, strongly consistent: provisioning decides from them right
        after a change (an eventually consistent read may miss a write of the last second)."""
        items = self._query_all(KeyConditionExpression=Key("pk").eq(pk) & Key("sk").begins_with(prefix),
                                ProjectionExpression="sk", ConsistentRead=True)
        return [i["sk"][len(prefix):] for i in items]

    def list_members(self, gid: str) -> list[str]:
        return self._children(f"GROUP#{gid}", "MEMBER#")

    def members_page(self, gid: str, limit=None, cursor=None) -> tuple[list[str], str | None]:
        """One page of a group's member ids, with the cursor of the next."""
        kwargs: dict[str, Any] = {
            "KeyConditionExpression": Key("pk").eq(f"GROUP#{gid}") & Key("sk").begins_with("MEMBER#"),
            "Limit": max(1, min(int(limit or 50), MAX_PAGE)),
        }
        start = decode_cursor(cursor, {"pk": f"GROUP#{gid}", "sk": "MEMBER#"})
        if start:
            kwargs["ExclusiveStartKey"] = start
        page = self.table.query(**kwargs)
        return [i["sk"][7:] for i in page.get("Items", [])], encode_cursor(page.get("LastEvaluatedKey"))

    def groups_of_user(self, uid: str) -> list[str]:
        return self._children(f"USER#{uid}", "MEMBEROF#")

    @staticmethod
    def membership_key(uid: str, gid: str) -> dict:
        return {"pk": f"USER#{uid}", "sk": f"MEMBEROF#{gid}"}

    def groups_of_user_among(self, uid: str, gids: Iterable[str]) -> list[str]:
        """Which of `gids` the user is a member of. In a read scope (an SSO), the membership items of a
        few groups are read in one BatchGetItem, none when the scope prefetched them; else one Query."""
        gids = list(gids)
        if not gids:
            return []
        if in_scope() and len(gids) <= MAX_MEMBERSHIP_READS:
            keys = [self.membership_key(uid, gid) for gid in gids]
            prefetch(self.table, keys)
            return [gid for gid, key in zip(gids, keys) if get_item(self.table, key) is not None]
        held = set(self.groups_of_user(uid))
        return [gid for gid in gids if gid in held]

    # ---------- outbox ----------
    def pending_outbox(self, limit: int = 100) -> list[OutboxItem]:
        page = self.table.query(KeyConditionExpression=Key("pk").eq("OUTBOX"), Limit=limit, ConsistentRead=True)
        return [from_ddb(i) for i in page.get("Items", [])]

    def clear_outbox(self, sks: Iterable[str]) -> None:
        with self.table.batch_writer() as batch:
            for sk in sks:
                batch.delete_item(Key={"pk": "OUTBOX", "sk": sk})
