"""The SCIM 2.0 server of the identity sources (contract section 10), as the directory sees it: one source at a
time, it lists, reads, creates, replaces, patches and deletes the users and groups that source owns, through the
same DirectoryService an administrator's changes go through (acting as {"type": "source", "id": ...}), so the
outbox, the change events and the audit log are one path. The protocol (models, filters, PATCH) is idp.scim's.

Ownership: a source sees only what it created or linked. A POST whose userName or email is a directory user's
that is not the source's is a 409 uniqueness; with the source's `match` rule ("email" or "username") an existing
user owned by nobody and holding no role is linked instead. A DELETE suspends (and lets the user go: it is the
administrators' again) or deletes, by the source's `on_delete`.

Reads stay cheap: `userName eq` / `emails.value eq` (alone or in an `and`) and `displayName eq` on groups are one
GetItem of the login-name (or group-name) item; any other list is one Query of the source's own partition of gsi2.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any, Iterator, Mapping, Protocol

from scim2_models import InvalidValueException, NotFoundException, SCIMException, UniquenessException
from scim2_models.path import AttrPath, CompareOperator, Comparison, FilterNode, LogicalExpr, LogicalOperator

from idp.directory.service import DirectoryService
from idp.kernel.audit import Actor
from idp.kernel.errors import DomainError
from idp.kernel.users import SUSPENDED
from idp.scim import server
from idp.scim.inbound_mapping import document, group_resource, member_ids, user_fields, user_resource
from idp.scim.server import GroupResource, UserResource

Record = dict[str, Any]
# How the directory's words read in SCIM, for the messages of refusals the directory words.
_SCIM_NAMES = {"'username'": "'userName'", "'email'": "'emails'", "'firstname'": "'name.givenName'",
               "'lastname'": "'name.familyName'", "'displayname'": "'displayName'", "'phone'": "'phoneNumbers'",
               "'employee_id'": "'employeeNumber'", "'name'": "'displayName'"}
_REQUIRED = {"username": "userName", "email": "emails (a primary or work email)", "firstname": "name.givenName",
             "lastname": "name.familyName"}


class InboundRepository(Protocol):
    """What the server reads (`idp.adapters.directory_store.DirectoryStore`); writes go through DirectoryService."""

    def get_user(self, uid: str) -> Record | None: ...

    def find_user_id(self, field: str, value: str) -> str | None: ...

    def get_group(self, gid: str) -> Record | None: ...

    def find_group_id(self, name: str) -> str | None: ...

    def list_members(self, gid: str) -> list[str]: ...

    def owned(self, sid: str, kind: str) -> list[Record]: ...

    def get_owned(self, kind: str, ident: str) -> Record | None:
        """A user ("user") or group ("group") with its source's SCIM document."""

    def set_owner(self, kind: str, ident: str, sid: str | None, external_id: str | None = None) -> None: ...


@contextlib.contextmanager
def _as_scim() -> Iterator[None]:
    """The directory's refusals as SCIM errors: 400 invalidValue, 404, 409 uniqueness (words in SCIM's names)."""
    try:
        yield
    except DomainError as exc:
        message = exc.message
        for ours, theirs in _SCIM_NAMES.items():
            message = message.replace(ours, theirs)
        if exc.status == 404:
            raise NotFoundException(detail=message) from None
        if exc.status == 409:
            raise UniquenessException(detail=message) from None
        if exc.status == 413:
            raise server.PayloadTooLarge(detail=message) from None
        raise InvalidValueException(detail=message) from None


def _eq_value(node: FilterNode, attrs: set[tuple[str, str | None]]) -> str | None:
    """The value of an `eq` on one of `attrs` that the whole filter requires (alone, or a term of an `and`)."""
    if isinstance(node, Comparison) and node.op == CompareOperator.eq and isinstance(node.value, str):
        path: AttrPath = node.attr_path
        if (path.attr.lower(), (path.sub_attr or "").lower() or None) in attrs and path.uri in (None, str(UserResource.__schema__),
                                                                                              str(GroupResource.__schema__)):
            return node.value
    if isinstance(node, LogicalExpr) and node.op == LogicalOperator.and_:
        for term in node.terms:
            found = _eq_value(term, attrs)
            if found is not None:
                return found
    return None


_LOGIN_ATTRS: set[tuple[str, str | None]] = {("username", None), ("emails", None), ("emails", "value")}
_GROUP_NAME: set[tuple[str, str | None]] = {("displayname", None)}


@dataclass
class SourceServer:
    """The SCIM server as one source sees it. `base_url` ends in /scim/v2."""

    source: Record
    directory: DirectoryService
    store: InboundRepository
    base_url: str

    @property
    def sid(self) -> str:
        return str(self.source["id"])

    def _location(self, kind: str, ident: str) -> str:
        return f"{self.base_url}/{kind}/{ident}"

    def _owned(self, record: Record | None) -> bool:
        return self._mine(record) is not None

    def _mine(self, record: Record | None) -> Record | None:
        """The record when this source owns it (and has not deleted it), else None."""
        if record is None or record.get("source_id") != self.sid or record.get("source_deleted"):
            return None
        return record

    # ---------------------------------------------------------------- users
    def _user(self, uid: str) -> Record:
        user = self._mine(self.store.get_owned("user", uid))
        if user is None:
            raise NotFoundException(detail=f"User '{uid[:100]}' not found")
        return user

    def _user_resource(self, user: Record) -> Any:
        return user_resource(user, self._location("Users", user["id"]))

    def list_users(self, query: Mapping[str, str]) -> Record:
        q = server.list_query(UserResource, query)
        login = _eq_value(q.filter.ast, _LOGIN_ATTRS) if q.filter is not None else None
        if login is not None:
            uid = self.store.find_user_id("username", login)
            mine = self._mine(self.store.get_owned("user", uid)) if uid else None
            candidates = [mine] if mine is not None else []
        else:
            candidates = [u for u in self.store.owned(self.sid, "user") if self._mine(u) is not None]
        found = [r for r in (self._user_resource(u) for u in candidates) if server.matches(q, r)]
        return server.list_response(UserResource, found[q.start_index - 1:q.start_index - 1 + q.count], len(found),
                                    q.start_index, q.params)

    def get_user(self, uid: str, query: Mapping[str, str]) -> Record:
        return server.dump(self._user_resource(self._user(uid)), server.response_parameters(UserResource, query))

    def create_user(self, body: Mapping[str, Any]) -> Record:
        resource = server.parse_resource(UserResource, body)
        fields = self._checked(user_fields(resource))
        owner = {"source_id": self.sid, "external_id": resource.external_id, "scim_document": document(resource),
                 "source_deleted": None}
        claimed = {uid for uid in (self.store.find_user_id("username", fields[k]) for k in ("username", "email")) if uid}
        with _as_scim():
            if not claimed:
                user = self.directory.create_user({k: v for k, v in fields.items() if v is not None}, owner=owner)
            else:
                user = self._link(claimed, fields, owner)
        return server.dump(self._user_resource({**user, "scim_document": owner["scim_document"]}))

    def _link(self, claimed: set[str], fields: Record, owner: Record) -> Record:
        """An existing user named by the POST: one this source deleted (suspending it) comes back; one owned by
        nobody is linked when the source's match rule allows it; else a 409."""
        existing = self.store.get_owned("user", next(iter(claimed))) if len(claimed) == 1 else None
        if existing is not None and existing.get("source_id") == self.sid and existing.get("source_deleted"):
            return self.directory.update_user(existing["id"], self._changes(existing, fields), owner=owner)
        rule = self.source.get("match", "none")
        if existing is None or existing.get("source_id") or existing.get("roles") or not (
                (rule == "username" and existing["username"].lower() == fields["username"].lower())
                or (rule == "email" and existing["email"].lower() == fields["email"].lower())):
            raise UniquenessException(detail=f"a directory user with userName '{fields['username']}' or email "
                                             f"'{fields['email']}' exists and is not this source's")
        return self.directory.update_user(existing["id"], self._changes(existing, fields), owner=owner)

    def _checked(self, fields: Record) -> Record:
        for name, scim_name in _REQUIRED.items():
            if not fields.get(name):
                raise InvalidValueException(detail=f"'{scim_name}' is required")
        return fields

    @staticmethod
    def _changes(current: Record, fields: Record) -> Record:
        return {k: v for k, v in fields.items() if current.get(k) != v and not (v is None and current.get(k) in (None, ""))}

    def _update_user(self, current: Record, resource: Any) -> Record:
        changes = self._changes(current, self._checked(user_fields(resource)))
        owner = {"external_id": resource.external_id, "scim_document": document(resource)}
        if changes or any(current.get(k) != v for k, v in owner.items()):
            with _as_scim():
                current = {**self.directory.update_user(current["id"], changes, owner=owner), **owner}
        return server.dump(self._user_resource(current))

    def replace_user(self, uid: str, body: Mapping[str, Any]) -> Record:
        current = self._user(uid)
        resource = server.parse_resource(UserResource, body, replacing=True)
        return self._update_user(current, resource)

    def patch_user(self, uid: str, body: Mapping[str, Any]) -> Record:
        current = self._user(uid)
        resource = self._user_resource(current)
        server.apply_patch(UserResource, body, resource)
        return self._update_user(current, resource)

    def delete_user(self, uid: str) -> None:
        """By the source's on_delete: delete, or suspend. A suspended one stays the source's, gone from its view
        (404) until it POSTs the same userName or email again, which brings it back (an HR rehire, an Entra
        re-assignment) instead of a 409."""
        self._user(uid)
        with _as_scim():
            if self.source.get("on_delete") == "delete":
                self.directory.delete_user(uid)
                return
            self.directory.update_user(uid, {"state": SUSPENDED}, owner={"source_deleted": True})

    # ---------------------------------------------------------------- groups
    def _group(self, gid: str) -> Record:
        group = self._mine(self.store.get_owned("group", gid))
        if group is None:
            raise NotFoundException(detail=f"Group '{gid[:100]}' not found")
        return group

    def _group_resource(self, group: Record, with_members: bool = True) -> Any:
        members = [{"id": uid} for uid in self.store.list_members(group["id"])] if with_members else []
        return group_resource(group, members, self._location("Groups", group["id"]), f"{self.base_url}/Users")

    @staticmethod
    def _members_wanted(query: Mapping[str, str], filter_text: str | None) -> bool:
        """Whether an answer needs the members (Entra reads groups with excludedAttributes=members)."""
        excluded = [a.strip().lower() for a in (query.get("excludedAttributes") or "").split(",")]
        attributes = [a.strip().lower() for a in (query.get("attributes") or "").split(",") if a.strip()]
        needed = "members" in (filter_text or "").lower()
        return needed or not ("members" in excluded or (attributes and "members" not in attributes))

    def list_groups(self, query: Mapping[str, str]) -> Record:
        q = server.list_query(GroupResource, query)
        name = _eq_value(q.filter.ast, _GROUP_NAME) if q.filter is not None else None
        if name is not None:
            gid = self.store.find_group_id(name)
            mine = self._mine(self.store.get_owned("group", gid)) if gid else None
            candidates = [mine] if mine is not None else []
        else:
            candidates = self.store.owned(self.sid, "group")
        with_members = self._members_wanted(query, query.get("filter"))
        found = [r for r in (self._group_resource(g, with_members) for g in candidates) if server.matches(q, r)]
        return server.list_response(GroupResource, found[q.start_index - 1:q.start_index - 1 + q.count], len(found),
                                    q.start_index, q.params)

    def get_group(self, gid: str, query: Mapping[str, str]) -> Record:
        group = self._group(gid)
        return server.dump(self._group_resource(group, self._members_wanted(query, None)),
                           server.response_parameters(GroupResource, query))

    def _check_members(self, ids: list[str]) -> None:
        for uid in ids:
            if not self._owned(self.store.get_user(uid)):
                raise InvalidValueException(detail=f"members: '{uid[:100]}' is not a user of this source")

    def create_group(self, body: Mapping[str, Any]) -> Record:
        resource = server.parse_resource(GroupResource, body)
        if not resource.display_name:
            raise InvalidValueException(detail="'displayName' is required")
        wanted = member_ids(resource)
        self._check_members(wanted)
        owner = {"source_id": self.sid, "external_id": resource.external_id, "scim_document": document(resource)}
        with _as_scim():
            group = self.directory.create_group({"name": resource.display_name}, owner=owner)
            for uid in wanted:
                self.directory.add_member(group["id"], uid)
        return server.dump(self._group_resource({**group, "scim_document": owner["scim_document"]}))

    def _update_group(self, current: Record, resource: Any) -> Record:
        if not resource.display_name:
            raise InvalidValueException(detail="'displayName' is required")
        wanted = member_ids(resource)
        held = self.store.list_members(current["id"])
        added = [uid for uid in wanted if uid not in held]
        self._check_members(added)
        owner = {"external_id": resource.external_id, "scim_document": document(resource)}
        with _as_scim():
            if resource.display_name != current["name"] or any(current.get(k) != v for k, v in owner.items()):
                current = {**self.directory.update_group(current["id"], {"name": resource.display_name}, owner=owner), **owner}
            for uid in added:
                self.directory.add_member(current["id"], uid)
            for uid in held:
                if uid not in wanted:
                    self.directory.remove_member(current["id"], uid)
        return server.dump(self._group_resource(current))

    def replace_group(self, gid: str, body: Mapping[str, Any]) -> Record:
        current = self._group(gid)
        return self._update_group(current, server.parse_resource(GroupResource, body, replacing=True))

    def patch_group(self, gid: str, body: Mapping[str, Any]) -> Record:
        current = self._group(gid)
        resource = self._group_resource(current)
        server.apply_patch(GroupResource, body, resource)
        return self._update_group(current, resource)

    def delete_group(self, gid: str) -> None:
        self._group(gid)
        with _as_scim():
            self.directory.delete_group(gid)


@dataclass
class InboundService:
    directory: DirectoryService
    store: InboundRepository

    def for_source(self, source: Record, base_url: str, ip: str | None = None, user_agent: str | None = None) -> SourceServer:
        """The server as `source` sees it; its changes recorded as the source's, from this client."""
        acting = self.directory.acting_as(Actor("source", str(source["id"])), ip, user_agent)
        return SourceServer(source, acting, self.store, base_url.rstrip("/"))


__all__ = ["InboundService", "SCIMException", "SourceServer"]
