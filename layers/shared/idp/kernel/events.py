"""The vocabulary of directory change events (contract section 4), shared by the directory that
produces them and the provisioning consumer that reads them."""
from __future__ import annotations

import hashlib
import json
import uuid
from typing import Mapping, NotRequired, TypedDict

from idp.kernel.clock import now_iso

USER_KINDS = frozenset({"user.created", "user.updated", "user.deleted"})
GROUP_KINDS = frozenset({"group.created", "group.updated", "group.deleted", "group.members_changed"})
APP_KINDS = frozenset({"app.access_changed", "app.sync"})
KINDS = USER_KINDS | GROUP_KINDS | APP_KINDS


class ChangeEvent(TypedDict):
    """A change event as the directory publishes it (the SQS body is all but ``event_id``)."""

    type: str
    id: str
    at: str
    event_id: str
    app: NotRequired[str]
    version: NotRequired[int]


def event(kind: str, ident: str, app: str | None = None, version: int | None = None) -> ChangeEvent:
    """One change event; `event_id` is the FIFO deduplication id and is not part of the body."""
    if kind not in KINDS:
        raise ValueError(f"unknown event kind {kind!r}")
    body: ChangeEvent = {"type": kind, "id": ident, "at": now_iso(), "event_id": uuid.uuid4().hex}
    if app:
        body["app"] = app
    if version is not None:
        body["version"] = int(version)
    return body


def member_event_id(origin: str, member: str, app: str) -> str:
    """The FIFO deduplication id of the event about one member of a group in one app, derived from the
    deduplication id of the group's event (`origin`). The admin API publishes a member event with each
    group it binds or unbinds, and the consumer sends the same events again when it handles the group's
    event (for publishers that send the group's event alone): derived alike, SQS keeps one of each
    (within its 5-minute deduplication interval), so a member is not synced twice."""
    return hashlib.sha256(f"{origin}:{app}:{member}".encode()).hexdigest()[:64]


def message_body(evt: Mapping[str, object]) -> str:
    """The SQS message body of an event (without its deduplication id)."""
    return json.dumps({k: v for k, v in evt.items() if k != "event_id"}, separators=(",", ":"))
