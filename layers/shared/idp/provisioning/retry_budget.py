"""The in-invocation Retry-After budget: a short Retry-After on a 429 is waited out inside the Lambda
invocation (and the same request sent again) instead of ending the event, only while the
invocation's remaining time allows; longer ones go back to the queue. Inside a paced run (a parallel
reconcile: `idp.provisioning.parallel`), the wait holds every worker of the app, not only the one that met
the 429."""
from __future__ import annotations

import time
from typing import Callable

from idp.provisioning.parallel import current_pace

# Retry-After waited out inside the invocation (and the same request sent again) instead of ending
# the event: only values up to this, and only while the Lambda's remaining time (minus the margin)
# allows; longer ones go back to the queue as before.
INLINE_RETRY_AFTER_MAX = 2.0
INLINE_RETRY_MARGIN = 15.0  # seconds left in the Lambda after the wait, for the retried request and the flush
INLINE_RETRY_ATTEMPTS = 10  # 429s in a row for one request before it is handed to the queue after all


class RetryBudget:
    def __init__(self, sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic):
        self.sleep = sleep
        self.clock = clock
        self.deadline: float | None = None  # monotonic; set per invocation from the Lambda context

    def set_deadline(self, remaining_seconds: float | None) -> None:
        """The Lambda's remaining time for this invocation (None: unknown, never wait inline)."""
        self.deadline = None if remaining_seconds is None else self.clock() + remaining_seconds

    def allows(self, seconds: float, attempt: int) -> bool:
        """Whether a wait of `seconds` for the `attempt`-th 429 in a row of one request fits: the wait is
        short and the invocation has the time."""
        if self.deadline is None or attempt > INLINE_RETRY_ATTEMPTS or seconds > INLINE_RETRY_AFTER_MAX:
            return False
        return self.deadline - self.clock() - seconds >= INLINE_RETRY_MARGIN

    def wait(self, seconds: float, attempt: int) -> bool:
        """The client asks whether to wait `seconds` (the SP's Retry-After on a 429) and send the same
        request again. Yes when the wait is short and the invocation has the time; else the 429 ends
        the event's work as before and the queue brings it back. In a paced run every worker of the app
        waits (`Pace.retry_after`)."""
        pace = current_pace()
        if pace is not None:
            return pace.retry_after(seconds, attempt, self.allows)
        if not self.allows(seconds, attempt):
            return False
        self.sleep(seconds)
        return True
