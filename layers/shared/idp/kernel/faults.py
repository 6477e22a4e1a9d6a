"""Outages of what the product stands on: AWS throttling or unavailable, or the request's time for outside calls
spent. The web answers each with a 503 and Retry-After (contract section 13), never a 500.

`ServiceUnavailable` is the kernel's word for one (raised with the seconds a client should wait);
`deadline(seconds)` bounds the outside calls a request makes (an adapter calls `check_deadline()` before each
attempt, which raises `DeadlineSpent`); `retry_after(exc)` says how long a client should wait after `exc`, or None
when `exc` is no outage. The adapters teach it their SDK's exceptions (`recognise`, once, when `idp.adapters` is
imported: an SDK exception can only come from a client an adapter built), so the web needs no adapter to tell."""
from __future__ import annotations

import contextvars
import time
from contextlib import contextmanager
from typing import Callable, Iterator

OUTAGE_RETRY_SECONDS = 5

Classifier = Callable[[BaseException], "int | None"]

_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar("outside_call_deadline", default=None)
_classifiers: list[Classifier] = []


class ServiceUnavailable(Exception):
    """Something the product depends on is throttling or unavailable: try again in `retry_after` seconds."""

    def __init__(self, message: str, retry_after: int = OUTAGE_RETRY_SECONDS) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class DeadlineSpent(ServiceUnavailable):
    """The request's time for outside calls is spent: no further attempt is started."""

    def __init__(self, message: str = "the request's time for AWS calls is spent") -> None:
        super().__init__(message, OUTAGE_RETRY_SECONDS)


@contextmanager
def deadline(seconds: float | None) -> Iterator[None]:
    """Outside calls made within (in this thread or task) start no attempt after `seconds` from now (None: no limit)."""
    token = _deadline.set(None if seconds is None else time.monotonic() + max(0.0, seconds))
    try:
        yield
    finally:
        _deadline.reset(token)


def check_deadline(**_: object) -> None:
    """Raise `DeadlineSpent` once the current deadline has passed (a hook an adapter runs before each attempt)."""
    at = _deadline.get()
    if at is not None and time.monotonic() >= at:
        raise DeadlineSpent()


def recognise(classifier: Classifier) -> None:
    """Teach `retry_after` a kind of outage: `classifier(exc)` gives the seconds to wait, or None (not one it knows)."""
    if classifier not in _classifiers:
        _classifiers.append(classifier)


def retry_after(exc: BaseException) -> int | None:
    """Seconds a client should wait when `exc`, or what it was raised from, is an outage; None for anything else."""
    seen: BaseException | None = exc
    for _ in range(6):
        if seen is None:
            return None
        if isinstance(seen, ServiceUnavailable):
            return seen.retry_after
        for classifier in _classifiers:
            seconds = classifier(seen)
            if seconds is not None:
                return seconds
        cause = seen.__cause__ or seen.__context__
        seen = cause if cause is not seen else None
    return None
