"""The deadline of a request's AWS calls (idp.adapters.aws registers `check_deadline` on every client, before
each attempt): standard library only, so the web layer sets it without importing boto3 at cold start."""
from __future__ import annotations

import contextvars
import time
from contextlib import contextmanager
from typing import Iterator

_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar("aws_deadline", default=None)


class AwsDeadline(Exception):
    """The request's time for AWS calls is spent: no further attempt is started."""


@contextmanager
def aws_deadline(seconds: float | None) -> Iterator[None]:
    """AWS calls made within (in this thread or task) start no attempt after `seconds` from now (None: no limit)."""
    token = _deadline.set(None if seconds is None else time.monotonic() + max(0.0, seconds))
    try:
        yield
    finally:
        _deadline.reset(token)


def check_deadline(**_) -> None:
    at = _deadline.get()
    if at is not None and time.monotonic() >= at:
        raise AwsDeadline("the request's time for AWS calls is spent")


