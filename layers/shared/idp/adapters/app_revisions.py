"""Per-app revisions, so a warm container may keep an app's configuration and its bound groups.

`APP#{slug}` / `REV` holds two random tokens: `config` (the app's META item) and `groups` (its group
bindings). Every write of the META item or of a group binding replaces the token in the same
transaction (deleting a group replaces it after its bindings are gone: until then a cached set names
a group whose memberships are being deleted, which grants nothing). An SSO reads this small item in
its one BatchGetItem and answers from the container's copy while the token it read matches the copy's.
The REV item itself is kept a second by a warm container (idp.adapters.hot_items: every sign-in to the app
reads it, one partition key), so a change written by another container shows within that second; one
written by this container, at once. A token is random, not a counter, so an app deleted and
created again never matches a copy of the old one. An app with no REV item (written before there
were revisions) is read fresh every time until its next change writes one."""
from __future__ import annotations

import threading
import uuid

CONFIG = "config"
GROUPS = "groups"
MAX_APPS = 512  # copies kept a container; past it the oldest go


def rev_key(slug: str) -> dict:
    return {"pk": f"APP#{slug}", "sk": "REV"}


def new_tokens(*parts: str) -> dict:
    return {part: uuid.uuid4().hex for part in parts}


def bump(table_name: str, slug: str, *parts: str) -> dict:
    """The TransactWriteItems element that gives `parts` new tokens (it creates the item when missing)."""
    tokens = new_tokens(*parts)
    return {"Update": {"TableName": table_name, "Key": rev_key(slug),
                       "UpdateExpression": "SET " + ", ".join(f"#{p} = :{p}" for p in parts),
                       "ExpressionAttributeNames": {f"#{p}": p for p in parts},
                       "ExpressionAttributeValues": {f":{p}": t for p, t in tokens.items()}}}


class RevisionCache:
    """A container's copies, each under the token it was read with."""

    def __init__(self, max_apps: int = MAX_APPS):
        self._copies: dict[tuple[str, str], tuple[str, object]] = {}
        self._lock = threading.Lock()
        self.max_apps = max_apps

    def last(self, slug: str, part: str):
        """The copy of `part` whatever its token (what to read ahead; never what to answer from); else None."""
        held = self._copies.get((slug, part))
        return held[1] if held else None

    def get(self, slug: str, part: str, token: str | None):
        """The copy of `part` if it was read under `token`; else None."""
        held = self._copies.get((slug, part)) if token else None
        return held[1] if held and held[0] == token else None

    def put(self, slug: str, part: str, token: str | None, value) -> None:
        """Keep `value`, read after `token` was (so it is at least as new as the token says)."""
        if not token:
            return
        with self._lock:
            self._copies.pop((slug, part), None)
            while len(self._copies) >= 2 * self.max_apps:
                self._copies.pop(next(iter(self._copies)))
            self._copies[(slug, part)] = (token, value)
