"""Directory use cases behind the admin API: validate, store with events, publish; and tell sign-on
what ends a user's sessions (a password change, a suspension, an MFA reset, an admin's revoke).

Longer than 400 lines because every change of a user passes here (an administrator's, a source's, a CSV
import's, the user's own password): the ownership, password-policy and quarantine checks sit beside the
writes they guard. Issue 24's application layer splits it by use case."""
from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Callable, Iterator, Mapping, Sequence

from aws_lambda_powertools import Logger

from idp.directory import models, quarantine
from idp.directory.password_policy import InMemoryPasswordPolicies, PasswordPolicy, check_password
from idp.directory.passwords import hash_password
from idp.directory.ports import DirectoryRepository, PasswordPolicyRepository, Publisher, SignonHooks
from idp.kernel.audit import API_ADMIN, Actor, AuditEvent, AuditSink, NullAudit, changed_fields, value_changes
from idp.kernel.clock import now_iso
from idp.kernel.errors import DomainError, not_found
from idp.kernel.events import ChangeEvent, event, member_event_id
from idp.kernel.users import SUSPENDED

log = Logger(child=True)

# How many events may ride in one DynamoDB transaction beside the change itself.
OUTBOX_ROOM = 95

# The user fields an identity source maps (contract section 10): on a user it owns they are the source's, and an
# administrator's change of one is refused (409 owned_by_source). `roles` and everything else stay the admins'.
SOURCE_USER_FIELDS = frozenset({"username", "email", "firstname", "lastname", "displayname", "title", "phone", "state",
                                "employee_id", "department"})
SOURCE_GROUP_FIELDS = frozenset({"name"})
# What marks a record as a source's: set only by the SCIM server's use of this service (idp.directory.inbound).
OWNER_FIELDS = frozenset({"source_id", "external_id", "scim_document", "source_deleted"})


@dataclass
class DirectoryService:
    store: DirectoryRepository
    publisher: Publisher
    signon: SignonHooks | None = None  # None: nothing listens (unit tests of the directory alone)
    # Every change is recorded as admin.<resource>.<action> (field names only), by this actor, from this client.
    audit: AuditSink = field(default_factory=NullAudit)
    actor: Actor = API_ADMIN
    ip: str | None = None
    user_agent: str | None = None
    # The password policy (contract section 9); the composition root passes the table's, tests get the defaults.
    password_policies: PasswordPolicyRepository = field(default_factory=InMemoryPasswordPolicies)
    # Inside `publishing_together()`: the change events held until the block ends (not copied by acting_as).
    _held: list[ChangeEvent] | None = field(default=None, init=False, repr=False)
    # Seconds since the epoch (the time a password was set, which voids older activation and reset links).
    clock: Callable[[], float] = time.time
    # Emails the user that their password was set (the user, the `password` event's reason); None: no notice.
    password_notice: Callable[[dict, str], None] | None = None

    def acting_as(self, actor: Actor, ip: str | None = None, user_agent: str | None = None) -> "DirectoryService":
        """This service recording its changes as done by ``actor`` (the console passes Actor("admin", uid))."""
        return replace(self, actor=actor, ip=ip, user_agent=user_agent)

    def record(self, type_: str, *, user_id: str | None = None, app: str | None = None, changes=(),
               detail: dict | None = None, reason: str | None = None, outcome: str = "success") -> None:
        """Append an audit event of a change this service (or the app service) made."""
        self.audit.record(AuditEvent(type_, outcome=outcome, actor=self.actor, user_id=user_id, app=app, ip=self.ip,
                                     user_agent=self.user_agent, reason=reason, changes=changed_fields(changes),
                                     detail=detail or {}))

    # ---------- publishing ----------
    @contextmanager
    def publishing_together(self) -> Iterator["DirectoryService"]:
        """A block of many changes (a CSV import's batch): their change events are published, and leave the
        outbox, together when the block ends (ten a message batch, 25 outbox deletes a DynamoDB call) instead of
        after each change; their audit events are written 25 a call. Each change is still stored with its events
        in its own transaction, so an event held here and lost with the process is in the outbox, which the
        relay publishes."""
        self._held = []
        try:
            with self.audit.batched():
                yield self
        finally:
            held, self._held = self._held, None
            self.publish(held)

    def publish(self, events: Sequence[ChangeEvent], in_outbox: bool = True) -> None:
        """Publish events after their change is stored; what was sent leaves the outbox."""
        if not events:
            return
        if self._held is not None and in_outbox:
            self._held.extend(events)
            return
        failed = {e["event_id"] for e in self.publisher.publish(events)}
        if in_outbox:
            self.store.clear_outbox(f"{e['at']}#{e['event_id']}" for e in events if e["event_id"] not in failed)
        if failed:
            log.warning("%d event(s) not published now; the outbox relay will retry", len(failed))

    def _capture(self, build):
        captured: list[ChangeEvent] = []

        def events_for(obj):
            evts = build(obj)
            captured.extend(evts)
            return evts

        return captured, events_for

    # ---------- users ----------
    def _owned_by_source(self, record: dict, kind: str, fields) -> None:
        """409 owned_by_source when someone other than a source changes what the owning source maps."""
        sid = record.get("source_id")
        if not sid or self.actor.type == "source" or not fields:
            return
        getter = getattr(self.store, "get_source", None)
        source = getter(sid) if getter else None
        name = f"'{source['name']}' ({sid})" if source else f"'{sid}'"
        raise DomainError(409, "owned_by_source", f"{', '.join(sorted(fields))} of this {kind} are managed by the identity "
                                                  f"source {name}: change them there")

    def _owner(self, owner: dict | None) -> dict:
        unknown = set(owner or {}) - OWNER_FIELDS
        if unknown:
            raise ValueError(f"not an owner field: {sorted(unknown)}")
        return dict(owner or {})

    def create_user(self, body, owner: dict | None = None, *, read_released: bool = True) -> dict:
        """`owner`: {"source_id", "external_id"} of a user an identity source creates (idp.directory.inbound).
        ``read_released=False``: skip reading the released-name markers before the write (a CSV import's job,
        which never confirms a reuse): the store's transaction refuses a quarantined name all the same (409)."""
        data = models.parse(models.UserCreate, body).model_dump()
        data.update(self._owner(owner))
        confirm_reuse = data.pop(quarantine.CONFIRM_FIELD)
        data.pop("send_activation", None)  # the caller sends it once the user exists (idp.directory.lifecycle)
        password = data.pop("password", None)
        if password is not None:
            self.enforce_password_policy(data, password)
        reused = self._released_names(data, None, confirm_reuse) if read_released or confirm_reuse else []
        captured, events_for = self._capture(lambda u: [event("user.created", u["id"], version=1)])
        stored = {**data, "password_set_at": self._now_ms()} if password is not None else data
        user = self.store.create_user(stored, hash_password(password) if password is not None else None, events_for,
                                      confirm_reuse=confirm_reuse)
        self.publish(captured)
        self.record("admin.user.created", user_id=user["id"],
                    changes=[*(set(data) - OWNER_FIELDS), *(["password"] if password else [])])
        self._record_reuse(user["id"], reused)
        if password and self.signon:
            self.signon.password_set(user["id"])
        return user

    def create_users(self, bodies: list[dict]) -> list[dict]:
        """Several users at once, all or none (a CSV import's batch): each validated as ``create_user`` validates it,
        stored in one transaction with their events (a clash cancels every one: create them one by one then), each
        audited as ``admin.user.created``. No password and no confirmed reuse (the transaction refuses a name in
        quarantine)."""
        datas = [models.parse(models.UserCreate, body).model_dump() for body in bodies]
        for data in datas:
            data.pop(quarantine.CONFIRM_FIELD, None)
            if data.pop("password", None):
                raise DomainError(400, "invalid_field", "field 'password': not taken when users are created together")
        captured, events_for = self._capture(lambda u: [event("user.created", u["id"], version=1)])
        users = self.store.create_users(datas, events_for)
        self.publish(captured)
        for user, data in zip(users, datas):
            self.record("admin.user.created", user_id=user["id"], changes=list(data))
        return users

    def get_user(self, uid: str) -> dict:
        user = self.store.get_user(uid)
        if not user:
            raise not_found("user", uid)
        return user

    def update_user(self, uid: str, body, owner: dict | None = None) -> dict:
        """`owner`: the identity source taking the user over (its match rule) or its new externalId."""
        data = models.parse(models.UserPatch, body).model_dump(exclude_unset=True)
        for required in models.UserPatch.NOT_NULL:
            if required in data and data[required] is None:
                raise DomainError(400, "invalid_field", f"field '{required}' cannot be null")
        confirm_reuse = data.pop(quarantine.CONFIRM_FIELD, False)
        password = data.pop("password", None)
        before = self.get_user(uid)
        self._owned_by_source(before, "user", set(value_changes(before, data)[0]) & SOURCE_USER_FIELDS)
        data.update(self._owner(owner))
        if password is not None:
            self.enforce_password_policy({**before, **data}, password)  # the names as they will be
        reused = self._released_names(data, uid, confirm_reuse)
        captured, events_for = self._capture(lambda u: [event("user.updated", u["id"], version=u["version"])])
        stored = {**data, "password_set_at": self._now_ms()} if password is not None else data
        user = self.store.update_user(uid, stored, hash_password(password) if password is not None else None, events_for,
                                      confirm_reuse=confirm_reuse, before=before)
        self.publish(captured)
        # What the change changed (the console's form sends every field), with the values before and after.
        changed, values = value_changes({**before, "roles": before.get("roles") or []},
                                        {k: v for k, v in data.items() if k not in OWNER_FIELDS})
        self.record("admin.user.updated", user_id=uid, changes=[*changed, *(["password"] if password else [])],
                    detail=values)
        self._record_reuse(uid, reused)
        if password:
            self._password_was_set(user, "changed" if self.actor.type == "user" else "admin_set")
        if data.get("state") == SUSPENDED:
            self._end_sessions(uid, "suspended")  # for good: unsuspending does not bring the old cookies back
        return user

    def _released_names(self, data: dict, uid: str | None, confirm_reuse: bool) -> list[tuple[str, str, dict]]:
        """The login names of ``data`` that another user released and whose quarantine still runs, as
        (field, value, marker): a 409 naming the first unless the administrator confirmed the reuse. (The
        store's transaction checks the same again, so a name released meanwhile is a 409 too.)"""
        now, held = now_iso(), []
        for what in ("username", "email"):
            value = data.get(what)
            if not isinstance(value, str) or not value:
                continue
            marker = self.store.released_name(value)
            if quarantine.holds(marker, uid, now):
                if not confirm_reuse:
                    raise quarantine.conflict(what, value, marker)
                held.append((what, value, marker))
        return held

    def _record_reuse(self, uid: str, reused: list[tuple[str, str, dict]]) -> None:
        """Audit each quarantined name an administrator handed to ``uid`` (the field, never the value)."""
        for what, _value, marker in reused:
            self.record("admin.user.released_name_reused", user_id=uid, changes=[what],
                        detail={"field": what, "released_by": marker.get("owner"), "released_at": marker.get("released_at"),
                                "quarantined_until": marker.get("until")})

    def check_new_password(self, password: str, user: str | Mapping[str, object] | None = None) -> None:
        """Refuse a password the rules for a new one refuse, storing nothing: a 400 naming the field (``invalid_field``
        for its shape, ``weak_password`` naming the policy's rule). ``user``, the user's id or record, lets the policy
        refuse their own names (without it, only the length and common-password rules apply). The account page
        checks the new password before it looks at the current one; the activation and reset pages before they
        set it (through ``update_user``, which checks it again)."""
        checked = models.parse(models.UserPatch, {"password": password}).password
        record = self.get_user(user) if isinstance(user, str) else (user or {})
        self.enforce_password_policy(record, checked if checked is not None else password)

    # ---------- the password policy (contract section 9) ----------
    def password_policy(self) -> PasswordPolicy:
        return self.password_policies.get_policy()

    def set_password_policy(self, new: models.PasswordPolicySettings) -> PasswordPolicy:
        """PUT /admin/password-policy (and the console's Settings): stored, and recorded as
        ``admin.password_policy.updated`` by this service's actor with the values that changed before and after."""
        old = self.password_policy()
        stored = PasswordPolicy(new.min_length, new.block_common, new.block_user_info)
        self.password_policies.put_policy(stored)
        log.info("password policy set min_length=%s block_common=%s block_user_info=%s",
                 stored.min_length, stored.block_common, stored.block_user_info)
        changed, values = value_changes(dict(old.view()), dict(stored.view()))
        self.record("admin.password_policy.updated", changes=changed, detail=values)
        return stored

    def enforce_password_policy(self, user: Mapping[str, object], password: str) -> None:
        """The policy's one check of a password about to be set for ``user`` (their username, email, first and
        last name, as they will be): a 400 ``weak_password`` naming the rule (idp.directory.password_policy)."""
        check_password(self.password_policy(), user, password)

    def set_password(self, uid: str, password: str, reason: str) -> dict:
        """Set the user's password (the one way besides a create or a change of the user's fields): the checks of a
        new password, the hash stored with the time it was set (older activation and reset links stop working),
        every session ended, a `password` audit event with ``reason`` (``activated``, ``reset``, ``changed``,
        ``admin_set``) and the "password changed" notice."""
        self.check_new_password(password, self.get_user(uid))
        captured, events_for = self._capture(lambda u: [event("user.updated", u["id"], version=u["version"])])
        user = self.store.update_user(uid, {"password_set_at": self._now_ms()}, hash_password(password), events_for)
        self.publish(captured)
        self._password_was_set(user, reason)
        return user

    def _now_ms(self) -> int:
        return int(self.clock() * 1000)

    def _password_was_set(self, user: dict, reason: str) -> None:
        uid = user["id"]
        # After the change is stored: a login racing it with the old password gets a session of the old epoch.
        if self.signon:
            self.signon.password_set(uid)
            self._end_sessions(uid, "password_changed")
        self.record("password", user_id=uid, reason=reason)
        if self.password_notice and reason != "activated":  # the first password of an account is no news to tell
            self.password_notice(user, reason)

    def revoke_sessions(self, uid: str) -> None:
        """POST /admin/users/{id}/sessions/revoke: every IdP session of the user ends (404 for an unknown user)."""
        self.get_user(uid)
        self._end_sessions(uid, "revoked")
        self.record("admin.user.sessions_revoked", user_id=uid)

    def reset_mfa(self, uid: str) -> None:
        """The hook an MFA reset calls once the user's factors are gone: every IdP session of the user ends."""
        self.get_user(uid)
        self._end_sessions(uid, "mfa_reset")
        self.record("admin.user.mfa_reset", user_id=uid)

    def _end_sessions(self, uid: str, reason: str) -> None:
        if self.signon:
            self.signon.end_sessions(uid, reason)

    def delete_user(self, uid: str) -> None:
        captured, events_for = self._capture(lambda u: [event("user.deleted", u["id"], version=int(u.get("version", 1)) + 1)])
        self.store.delete_user(uid, events_for)
        self.publish(captured)
        self.record("admin.user.deleted", user_id=uid)

    # ---------- groups ----------
    def create_group(self, body, owner: dict | None = None) -> dict:
        data = models.parse(models.GroupCreate, body).model_dump()
        data.update(self._owner(owner))
        captured, events_for = self._capture(lambda g: [event("group.created", g["id"], version=1)])
        group = self.store.create_group(data, events_for)
        self.publish(captured)
        self.record("admin.group.created", changes=set(data) - OWNER_FIELDS, detail={"group_id": group["id"]})
        return group

    def get_group(self, gid: str) -> dict:
        group = self.store.get_group(gid)
        if not group:
            raise not_found("group", gid)
        return group

    def update_group(self, gid: str, body, owner: dict | None = None) -> dict:
        data = models.parse(models.GroupPatch, body).model_dump(exclude_unset=True)
        for required in models.GroupPatch.NOT_NULL:
            if required in data and data[required] is None:
                raise DomainError(400, "invalid_field", f"field '{required}' cannot be null")
        before = self.get_group(gid)
        self._owned_by_source(before, "group", set(value_changes(before, data)[0]) & SOURCE_GROUP_FIELDS)
        data.update(self._owner(owner))
        captured, events_for = self._capture(lambda g: [event("group.updated", g["id"], version=g["version"])])
        group = self.store.update_group(gid, data, events_for)
        self.publish(captured)
        changed, values = value_changes(before, {k: v for k, v in data.items() if k not in OWNER_FIELDS})
        self.record("admin.group.updated", changes=changed, detail={"group_id": gid, **values})
        return group

    def delete_group(self, gid: str) -> None:
        group = self.get_group(gid)
        apps = self.store.apps_of_group(gid)
        members = self.store.list_members(gid)
        fan_out = [event("app.access_changed", uid, app=slug) for slug in apps for uid in members]
        captured, events_for = self._capture(
            lambda g: [event("group.deleted", gid, version=int(group.get("version", 1)) + 1)] + fan_out[:OUTBOX_ROOM]
        )
        self.store.delete_group(gid, events_for)
        self.publish(captured)
        self.record("admin.group.deleted", detail={"group_id": gid})
        self.publish(fan_out[OUTBOX_ROOM:], in_outbox=False)

    def _require_user(self, uid: str) -> None:
        if not self.store.get_user(uid):
            raise not_found("user", uid)

    def add_member(self, gid: str, uid: str) -> None:
        group = self.get_group(gid)
        self._require_user(uid)
        self._owned_by_source(group, "group", {"members"})
        self._membership(gid, uid, add=True)

    def remove_member(self, gid: str, uid: str) -> None:
        self._owned_by_source(self.get_group(gid), "group", {"members"})
        self._membership(gid, uid, add=False)

    def _membership(self, gid: str, uid: str, add: bool) -> None:
        if self.store.is_member(gid, uid) == add:
            return  # already so: nothing changed, nothing to tell
        events = [event("group.members_changed", gid)]
        events += [event("app.access_changed", uid, app=slug) for slug in self.store.apps_of_group(gid)]
        (self.store.add_member if add else self.store.remove_member)(gid, uid, events[:OUTBOX_ROOM])
        self.record("admin.group.member_added" if add else "admin.group.member_removed", user_id=uid, detail={"group_id": gid})
        self.publish(events[:OUTBOX_ROOM])
        self.publish(events[OUTBOX_ROOM:], in_outbox=False)

    def list_members(self, gid: str, limit=None, cursor=None) -> tuple[list[dict], str | None]:
        self.get_group(gid)
        ids, next_cursor = self.store.members_page(gid, limit, cursor)
        return [u for u in (self.store.get_user(uid) for uid in ids) if u], next_cursor

    # ---------- access bindings ----------
    def bind_user(self, slug: str, uid: str, bind: bool) -> None:
        self._require_app(slug)
        self._require_user(uid)
        if self.store.user_bound(slug, uid) == bind:
            return
        events = [event("app.access_changed", uid, app=slug)]
        (self.store.bind_user if bind else self.store.unbind_user)(slug, uid, events)
        self.record("admin.app.user_bound" if bind else "admin.app.user_unbound", user_id=uid, app=slug)
        self.publish(events)

    def bind_group(self, slug: str, gid: str, bind: bool) -> None:
        self._require_app(slug)
        self.get_group(gid)
        if self.store.group_bound(slug, gid) == bind:
            return
        members = self.store.list_members(gid)
        # The group-level event is enough on its own (the consumer walks the members);
        # one event per member lets the consumer work on them in parallel.
        events = [event("app.access_changed", gid, app=slug)]
        # Their deduplication ids derive from the group's, as the consumer's own events for the members do.
        events += [{**event("app.access_changed", uid, app=slug), "event_id": member_event_id(events[0]["event_id"], uid, slug)}
                   for uid in members]
        (self.store.bind_group if bind else self.store.unbind_group)(slug, gid, events[:OUTBOX_ROOM])
        self.record("admin.app.group_bound" if bind else "admin.app.group_unbound", app=slug, detail={"group_id": gid})
        self.publish(events[:OUTBOX_ROOM])
        self.publish(events[OUTBOX_ROOM:], in_outbox=False)

    def _require_app(self, slug: str) -> dict:
        app = self.store.get_app(slug)
        if not app:
            raise not_found("app", slug)
        return app
