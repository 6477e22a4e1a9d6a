"""The vocabulary of directory change events (contract section 4), shared by the directory that
produces them and the provisioning consumer that reads them."""
from __future__ import annotations

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


def message_body(evt: Mapping[str, object]) -> str:
    """The SQS message body of an event (without its deduplication id)."""
    return json.dumps({k: v for k, v in evt.items() if k != "event_id"}, separators=(",", ":"))
