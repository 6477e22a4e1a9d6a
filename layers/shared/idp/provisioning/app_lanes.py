"""Which apps are slow, as one container sees them (contract section 4, each SP on its own): an app
whose SCIM request was cut at its per-request budget (`BudgetSpent`) counts as slow for the rest of the
invocation (per thread) and `slow_memory` seconds (per container), and so does an app whose status
says it is failing or refused the credentials. A healthy app with much to do (a group of hundreds
bound) is busy, not slow. The dispatcher sends a slow app's shares to the app's own lane (one message
group) and orders the apps of an event healthy first, the quicker first among them."""
from __future__ import annotations

import threading
import time
from typing import Any

TROUBLED_STATES = ("failing", "auth_failed")


class AppLanes:
    def __init__(self, budget: float, slow_memory: float):
        self.budget, self.slow_memory = budget, slow_memory
        self._invocation = threading.local()  # `spent`: slug -> seconds of inline work in this invocation (thread)
        self._lock = threading.Lock()
        self._slow_until: dict[str, float] = {}  # slug -> monotonic time until which it counts as slow
        self._took: dict[str, float] = {}  # slug -> seconds its last share took

    def begin_invocation(self) -> None:
        """A new invocation (batch) in this thread: every app has its whole budget again."""
        self._invocation.spent = {}

    def _spent(self) -> dict[str, float]:
        spent = getattr(self._invocation, "spent", None)
        if spent is None:
            spent = self._invocation.spent = {}
        return spent

    def slow(self, slug: str, status: dict[str, Any]) -> str | None:
        """Why the app counts as slow or failing now (`status`: its provisioning status), or None."""
        if status.get("state") in TROUBLED_STATES:
            return f"its status is {status['state']}"
        if self._spent().get(slug, 0.0) >= self.budget:
            return f"a request of it was cut at {self.budget:g} s in this invocation"
        with self._lock:
            if self._slow_until.get(slug, 0.0) > time.monotonic():
                return f"its work was cut at its {self.budget:g} s budget in the last {self.slow_memory:g} s"
        return None

    def order(self, slugs: list[str], statuses: dict[str, dict[str, Any]]) -> list[str]:
        """Healthy apps first, the quicker first among them (then in the given order)."""
        return sorted(slugs, key=lambda slug: (self.slow(slug, statuses[slug]) is not None, self._took.get(slug, 0.0)))

    def took(self, slug: str, seconds: float) -> None:
        with self._lock:
            self._took[slug] = seconds

    def cut(self, slug: str) -> None:
        """The app's work was cut by its budget: slow for the rest of this invocation and `slow_memory` seconds."""
        self._spent()[slug] = self.budget
        with self._lock:
            self._slow_until[slug] = time.monotonic() + self.slow_memory
