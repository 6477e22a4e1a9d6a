"""Items every sign-in reads whoever signs in, kept a second per container (issue 25: no hot key).

An app's `REV` item (idp.adapters.app_revisions) is read by every SSO and login to that app, and the MFA
policy by every sign-in to any app: each is one item on one partition key, and DynamoDB serves at most
3,000 read units a second on a partition. A container keeps the copy it read for `TTL_SECONDS`, so it
reads each at most once a second whatever its rate; the partition sees one read a second per warm
container instead of one per sign-in.

What bounds staleness: a copy is used only while younger than the TTL, counted from when the read began,
so a change written by another container (the admin function) is seen by every container within the TTL
plus one request: under the 2 s within which an access change must take effect (contract section 13).
A write through this container drops its copy at once (`forget`), and a read that began before a `forget`
is not kept. The items held decide no access by themselves: the user's binding, memberships, session,
epoch and profile are read fresh by every request (idp.adapters.answer_reads); a group binding's change
shows through the `REV` token within the TTL.
"""
from __future__ import annotations

import threading
import time
from typing import Callable, Mapping

TTL_SECONDS = 1.0
MFA_POLICY_KEY = {"pk": "MFAPOLICY", "sk": "POLICY"}  # idp.adapters.mfa_state's


def _k(key: Mapping) -> tuple[str, str]:
    return key["pk"], key["sk"]


class HotItems:
    """A container's short-lived copies of the items `covers` names (none by default)."""

    def __init__(self, covers: Callable[[Mapping], bool] = lambda key: False, ttl: float = TTL_SECONDS,
                 clock: Callable[[], float] = time.monotonic):
        self.covers = covers
        self.ttl = ttl
        self.clock = clock
        self._held: dict[tuple[str, str], tuple[float, dict | None]] = {}
        self._forgotten: dict[tuple[str, str], float] = {}
        self._lock = threading.Lock()

    def held(self, key: Mapping) -> tuple[bool, dict | None]:
        """(True, the item or None when it was missing) while a copy younger than the TTL is held; else (False, None)."""
        got = self._held.get(_k(key))
        if got is None or self.clock() - got[0] >= self.ttl:
            return False, None
        return True, got[1]

    def keep(self, key: Mapping, item: dict | None, read_began: float) -> None:
        """Keep what a read that began at `read_began` (this clock) found, unless the key was forgotten since."""
        if not self.covers(key):
            return
        with self._lock:
            if self._forgotten.get(_k(key), float("-inf")) >= read_began:
                return
            self._held[_k(key)] = (read_began, item)

    def forget(self, key: Mapping) -> None:
        """This container wrote the item: the copy goes, and so does any read begun before now."""
        if not self.covers(key):
            return
        with self._lock:
            self._held.pop(_k(key), None)
            now = self.clock()
            self._forgotten[_k(key)] = now
            if len(self._forgotten) > 4096:  # a mark matters only to a read still running: none runs a minute
                self._forgotten = {k: t for k, t in self._forgotten.items() if now - t < 60}


def is_sign_in_item(key: Mapping) -> bool:
    """An item every sign-in reads whoever signs in: an app's revisions (`APP#{slug}` / `REV`), the MFA policy."""
    return (key["sk"] == "REV" and key["pk"].startswith("APP#")) or _k(key) == _k(MFA_POLICY_KEY)


def sign_in_items() -> HotItems:
    """A container's copies of the items every sign-in reads (idp.bootstrap.Container.hot_items)."""
    return HotItems(covers=is_sign_in_item)
