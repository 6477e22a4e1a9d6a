"""Directory use cases behind the admin API: validate, store with events, publish; and tell sign-on
what ends a user's sessions (a password change, a suspension, an MFA reset, an admin's revoke)."""
from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Callable

from aws_lambda_powertools import Logger

from idp.directory import models, quarantine
from idp.directory.passwords import hash_password
from idp.directory.ports import DirectoryRepository, Publisher, SignonHooks
from idp.kernel.audit import API_ADMIN, Actor, AuditEvent, AuditSink, NullAudit, changed_fields, value_changes
from idp.kernel.clock import now_iso
from idp.kernel.errors import DomainError, not_found
from idp.kernel.events import event

log = Logger(child=True)

# How many events may ride in one DynamoDB transaction beside the change itself.
OUTBOX_ROOM = 95


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
    def publish(self, events: list[dict], in_outbox: bool = True) -> None:
        """Publish events after their change is stored; what was sent leaves the outbox."""
        if not events:
            return
        failed = {e["event_id"] for e in self.publisher.publish(events)}
        if in_outbox:
            self.store.clear_outbox(f"{e['at']}#{e['event_id']}" for e in events if e["event_id"] not in failed)
        if failed:
            log.warning("%d event(s) not published now; the outbox relay will retry", len(failed))

    def _capture(self, build):
        captured: list[dict] = []

        def events_for(obj):
            evts = build(obj)
            captured.extend(evts)
            return evts

        return captured, events_for

    # ---------- users ----------
    def create_user(self, body) -> dict:
        data = models.parse(models.UserCreate, body).model_dump()
        confirm_reuse = data.pop(quarantine.CONFIRM_FIELD)
        data.pop("send_activation", None)  # the caller sends it once the user exists (idp.directory.lifecycle)
        password = data.pop("password", None)
        reused = self._released_names(data, None, confirm_reuse)
        captured, events_for = self._capture(lambda u: [event("user.created", u["id"], version=1)])
        stored = {**data, "password_set_at": self._now_ms()} if password else data
        user = self.store.create_user(stored, hash_password(password) if password else None, events_for,
                                      confirm_reuse=confirm_reuse)
        self.publish(captured)
        self.record("admin.user.created", user_id=user["id"], changes=[*data, *(["password"] if password else [])])
        self._record_reuse(user["id"], reused)
        if password and self.signon:
            self.signon.password_set(user["id"])
        return user

    def get_user(self, uid: str) -> dict:
        user = self.store.get_user(uid)
        if not user:
            raise not_found("user", uid)
        return user

    def update_user(self, uid: str, body) -> dict:
        data = models.parse(models.UserPatch, body).model_dump(exclude_unset=True)
        for required in models.UserPatch.NOT_NULL:
            if required in data and data[required] is None:
                raise DomainError(400, "invalid_field", f"field '{required}' cannot be null")
        confirm_reuse = data.pop(quarantine.CONFIRM_FIELD, False)
        password = data.pop("password", None)
        before = self.get_user(uid)
        reused = self._released_names(data, uid, confirm_reuse)
        captured, events_for = self._capture(lambda u: [event("user.updated", u["id"], version=u["version"])])
        stored = {**data, "password_set_at": self._now_ms()} if password else data
        user = self.store.update_user(uid, stored, hash_password(password) if password else None, events_for,
                                      confirm_reuse=confirm_reuse)
        self.publish(captured)
        # What the change changed (the console's form sends every field), with the values before and after.
        changed, values = value_changes({**before, "roles": before.get("roles") or []}, data)
        self.record("admin.user.updated", user_id=uid, changes=[*changed, *(["password"] if password else [])],
                    detail=values)
        self._record_reuse(uid, reused)
        if password:
            self._password_was_set(user, "changed" if self.actor.type == "user" else "admin_set")
        if data.get("state") == "SUSPENDED":
            self._end_sessions(uid, "suspended")  # for good: unsuspending does not bring the old cookies back
        return user

    def _released_names(self, data: dict, uid: str | None, confirm_reuse: bool) -> list[tuple[str, str, dict]]:
        """The login names of ``data`` that another user released and whose quarantine still runs, as
        (field, value, marker): a 409 naming the first unless the administrator confirmed the reuse. (The
        store's transaction checks the same again, so a name released meanwhile is a 409 too.)"""
        now, held = now_iso(), []
        for what in ("username", "email"):
            value = data.get(what)
            marker = self.store.released_name(value) if isinstance(value, str) and value else None
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

    def set_password(self, uid: str, password: str, reason: str) -> dict:
        """Set the user's password (the one way besides a create or a change of the user's fields): the checks of a
        new password, the hash stored with the time it was set (older activation and reset links stop working),
        every session ended, a `password` audit event with ``reason`` (``activated``, ``reset``, ``changed``,
        ``admin_set``) and the "password changed" notice."""
        self.check_new_password(password)
        self.get_user(uid)
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

    def check_new_password(self, password: str) -> None:
        """Refuse a password the rules for a new one refuse (DomainError 400 naming the field), storing nothing:
        the account page checks the new password before it looks at the current one."""
        models.parse(models.UserPatch, {"password": password})

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
    def create_group(self, body) -> dict:
        data = models.parse(models.GroupCreate, body).model_dump()
        captured, events_for = self._capture(lambda g: [event("group.created", g["id"], version=1)])
        group = self.store.create_group(data, events_for)
        self.publish(captured)
        self.record("admin.group.created", changes=data, detail={"group_id": group["id"]})
        return group

    def get_group(self, gid: str) -> dict:
        group = self.store.get_group(gid)
        if not group:
            raise not_found("group", gid)
        return group

    def update_group(self, gid: str, body) -> dict:
        data = models.parse(models.GroupPatch, body).model_dump(exclude_unset=True)
        for required in models.GroupPatch.NOT_NULL:
            if required in data and data[required] is None:
                raise DomainError(400, "invalid_field", f"field '{required}' cannot be null")
        before = self.get_group(gid)
        captured, events_for = self._capture(lambda g: [event("group.updated", g["id"], version=g["version"])])
        group = self.store.update_group(gid, data, events_for)
        self.publish(captured)
        changed, values = value_changes(before, data)
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
        self.get_group(gid)
        self._require_user(uid)
        self._membership(gid, uid, add=True)

    def remove_member(self, gid: str, uid: str) -> None:
        self.get_group(gid)
        self._membership(gid, uid, add=False)

    def _membership(self, gid: str, uid: str, add: bool) -> None:
        if self.store.has_edge(f"GROUP#{gid}", f"MEMBER#{uid}") == add:
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
        if self.store.has_edge(f"APP#{slug}", f"BIND#USER#{uid}") == bind:
            return
        events = [event("app.access_changed", uid, app=slug)]
        (self.store.bind_user if bind else self.store.unbind_user)(slug, uid, events)
        self.record("admin.app.user_bound" if bind else "admin.app.user_unbound", user_id=uid, app=slug)
        self.publish(events)

    def bind_group(self, slug: str, gid: str, bind: bool) -> None:
        self._require_app(slug)
        self.get_group(gid)
        if self.store.has_edge(f"APP#{slug}", f"BIND#GROUP#{gid}") == bind:
            return
        members = self.store.list_members(gid)
        # The group-level event is enough on its own (the consumer walks the members);
        # one event per member lets the consumer work on them in parallel.
        events = [event("app.access_changed", gid, app=slug)]
        events += [event("app.access_changed", uid, app=slug) for uid in members]
        (self.store.bind_group if bind else self.store.unbind_group)(slug, gid, events[:OUTBOX_ROOM])
        self.record("admin.app.group_bound" if bind else "admin.app.group_unbound", app=slug, detail={"group_id": gid})
        self.publish(events[:OUTBOX_ROOM])
        self.publish(events[OUTBOX_ROOM:], in_outbox=False)

    def _require_app(self, slug: str) -> dict:
        app = self.store.get_app(slug)
        if not app:
            raise not_found("app", slug)
        return app
