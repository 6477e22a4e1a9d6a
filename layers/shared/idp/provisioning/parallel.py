"""Requests to one SP in parallel during a reconcile (an `app.sync`, the hourly schedule, POST .../sync):
at most the app's `max_concurrency` at once, bound by the SP rather than by one request at a time.

- `for_each`: the reconcile's users (then its groups) handed to up to `max_concurrency` worker threads,
  one object to one worker (a user's requests stay in order, in one thread; the create claims and the
  reconcile lease rule out two creates of one user, as before). Each worker runs in a copy of the
  caller's context (the SCIM time budget, `deadline_scope`/`request_cap`, and the AWS deadline go with
  it) and inside its own write buffer (`state.buffered()`: per thread), written when it ends.
- `Pace`, shared by the workers of one run: a 429 with `Retry-After` pauses every worker of the app, not
  only the one that met it (the wait is the in-invocation one of `retry_budget`, taken only while the
  Lambda's time allows; otherwise the 429 ends the run and the event comes back after `Retry-After`,
  as before); the first failure that is not one object's own (a 5xx, a timeout, the time budget spent,
  401/403) stops every worker from issuing anything more, and the run raises it as a sequential one
  did; the app's circuit breaker is read every `BREAKER_CHECK_SECONDS` and, once another consumer opened
  it, nothing more is sent (`BreakerOpen`).
- `PacedClient`: the run's SCIM client, each request first waiting for its turn (`Pace.turn`).

The default of 16 requests in flight (`DEFAULT_MAX_CONCURRENCY`): the initial sync of 10,000 users against
an SP answering in 100 ms is about 10,100 requests; one at a time that is 17 minutes; the 2-minute target
needs at least 9 in flight on average (10,100 x 0.1 s / 120 s) plus our own time per user, so 8 would miss it
and 16 leaves room (about a minute). An SP that cannot take 16 says so with 429 (every worker pauses) or
with 5xx (the run stops, the breaker counts it); an administrator sets 1..32 per app
(`max_concurrency` in PUT /admin/apps/{slug}/provisioning; 1: one request at a time, as before)."""
from __future__ import annotations

import contextlib
import contextvars
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Iterator, Sequence, TypeVar

from idp.provisioning.ports import ScimApi
from idp.scim.protocol import RetryLater, ScimResponse

BREAKER_CHECK_SECONDS = 5.0  # how often a run reads the app's breaker (one GetItem)
MAX_PAUSES_A_TURN = 20  # a turn waits through at most this many pauses in a row (each at most a short Retry-After)

T = TypeVar("T")
R = TypeVar("R")


class BreakerOpen(RetryLater):
    """The app's circuit breaker is open: no request was sent."""


class SyncStopped(RetryLater):
    """Not sent: another request of this run failed (or the breaker opened), so the run sends nothing more."""


_PACE: contextvars.ContextVar["Pace | None"] = contextvars.ContextVar("provisioning_pace", default=None)


def current_pace() -> "Pace | None":
    """The pace of the run this thread works for (None: not inside a paced run)."""
    return _PACE.get()


@contextlib.contextmanager
def pacing(pace: "Pace") -> Iterator["Pace"]:
    """Within (and in the workers `for_each` starts from within): requests follow `pace`."""
    token = _PACE.set(pace)
    try:
        yield pace
    finally:
        _PACE.reset(token)


class Pace:
    """One app's pace for one run, shared by its workers (thread-safe)."""

    def __init__(self, slug: str, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep, breaker_open_for: Callable[[], float] | None = None,
                 breaker_every: float | None = None):
        self.slug = slug
        self.clock, self.sleep = clock, sleep
        self.breaker_open_for = breaker_open_for
        self.breaker_every = BREAKER_CHECK_SECONDS if breaker_every is None else breaker_every
        self._lock = threading.Lock()
        self.paused_until = 0.0
        self.pauses = 0  # 429s waited out (every worker held)
        self.error: BaseException | None = None  # the first failure that stopped the run
        self._next_breaker_check = clock() + self.breaker_every

    # ---------------------------------------------------------------- stop
    @property
    def stopped(self) -> bool:
        return self.error is not None

    def stop(self, exc: BaseException) -> None:
        """The run sends nothing more; the first failure is the one the run raises."""
        with self._lock:
            if self.error is None:
                self.error = exc

    def _raise_if_stopped(self) -> None:
        if self.error is not None:
            delay = self.error.delay_seconds if isinstance(self.error, RetryLater) else None
            raise SyncStopped(f"not sent: the sync of '{self.slug}' stopped ({str(self.error)[:200]})", delay)

    # ---------------------------------------------------------------- turns
    def turn(self) -> None:
        """Before a request: wait while the app is paused (a 429's Retry-After), raise `SyncStopped` once
        the run stopped, and read the app's breaker when it is due (open: the run stops)."""
        self._check_breaker()
        for _ in range(MAX_PAUSES_A_TURN):
            self._raise_if_stopped()
            left = self.paused_until - self.clock()
            if left <= 0:
                return
            self.sleep(left)
        self._raise_if_stopped()

    def _check_breaker(self) -> None:
        if self.breaker_open_for is None:
            return
        with self._lock:
            now = self.clock()
            if now < self._next_breaker_check:
                return
            self._next_breaker_check = now + self.breaker_every
        remaining = self.breaker_open_for()
        if remaining > 0:
            self.stop(BreakerOpen(f"provisioning for '{self.slug}' is paused: its circuit breaker opened during the sync",
                                  delay_seconds=remaining))

    def retry_after(self, seconds: float, attempt: int, allows: Callable[[float, int], bool]) -> bool:
        """A worker met a 429 asking for `seconds`: pause every worker of the app that long (or until a
        pause another worker set ends, whichever is later) and send the request again, when `allows` (the
        in-invocation budget) says the wait fits; else False (the 429 ends the run)."""
        with self._lock:
            now = self.clock()
            mine = now + max(0.0, seconds)  # this request goes again after its own Retry-After
            until = max(self.paused_until, mine)
            if self.error is not None or not allows(until - now, attempt):
                return False
            if self.paused_until <= now:
                # The first 429 pauses every worker. One answered while a pause holds was sent before it began
                # (no worker sends during a pause): it waits its own Retry-After, the others' pause stays as it
                # is (a pause longer than the SP asked for wastes what its limit gives back meanwhile).
                self.paused_until = mine
                self.pauses += 1
        for _ in range(MAX_PAUSES_A_TURN):
            left = max(self.paused_until, mine) - self.clock()
            if left <= 0 or self.error is not None:
                break
            self.sleep(left)
        return self.error is None


class PacedClient:
    """The run's SCIM client: every request waits for its turn (`Pace.turn`) first."""

    def __init__(self, inner: ScimApi, pace: Pace):
        self.inner, self.pace = inner, pace
        self.base_url, self.token = inner.base_url, inner.token

    def request(self, method: str, path: str, *, params: dict[str, Any] | None = None, body: dict[str, Any] | None = None,
                headers: dict[str, Any] | None = None) -> ScimResponse:
        self.pace.turn()
        return self.inner.request(method, path, params=params, body=body, headers=headers)

    def get(self, resource: str, scim_id: str, *, params: dict[str, Any] | None = None) -> dict[str, Any]:
        self.pace.turn()
        return self.inner.get(resource, scim_id, params=params)

    def create(self, resource: str, payload: dict[str, Any]) -> ScimResponse:
        self.pace.turn()
        return self.inner.create(resource, payload)

    def replace(self, resource: str, scim_id: str, payload: dict[str, Any], *, etag: str | None = None) -> ScimResponse:
        self.pace.turn()
        return self.inner.replace(resource, scim_id, payload, etag=etag)

    def patch(self, resource: str, scim_id: str, operations: list[dict[str, Any]], *, etag: str | None = None) -> ScimResponse:
        self.pace.turn()
        return self.inner.patch(resource, scim_id, operations, etag=etag)

    def delete(self, resource: str, scim_id: str) -> None:
        self.pace.turn()
        self.inner.delete(resource, scim_id)

    def search(self, resource: str, filter_: str, *, count: int = 10, excluded: str | None = None) -> list[dict[str, Any]]:
        self.pace.turn()
        return self.inner.search(resource, filter_, count=count, excluded=excluded)

    def iterate(self, resource: str, *, page_size: int = 100, excluded: str | None = None,
                max_pages: int = 10_000) -> Iterator[dict[str, Any]]:
        self.pace.turn()
        yield from self.inner.iterate(resource, page_size=page_size, excluded=excluded, max_pages=max_pages)


def for_each(items: Sequence[T], work: Callable[[T], R], *, concurrency: int, pace: Pace,
             worker_scope: Callable[[], contextlib.AbstractContextManager[Any]] | None = None) -> list[R]:
    """`work(item)` for every item, by up to `concurrency` workers, each item by one worker; the results in
    the items' order. The first exception `work` raises stops the run (`Pace.stop`): no worker takes another
    item, requests not yet sent are not sent, and it is raised here once every worker has finished.
    `worker_scope()`: entered by each worker around its items (the per-thread write buffer). One worker (or
    one item): done in this thread, in order, as a sequential run."""
    results: dict[int, R] = {}
    queue = iter(enumerate(items))
    taking = threading.Lock()

    def take() -> tuple[int, T] | None:
        with taking:
            return None if pace.stopped else next(queue, None)

    def worker() -> None:
        with worker_scope() if worker_scope is not None else contextlib.nullcontext():
            while (got := take()) is not None:
                index, item = got
                try:
                    results[index] = work(item)
                except BaseException as exc:  # noqa: BLE001 - the run's first failure, raised once every worker has stopped
                    pace.stop(exc)
                    return

    workers = max(1, min(int(concurrency), len(items)))
    with pacing(pace):
        if workers == 1:
            worker()
        else:
            with ThreadPoolExecutor(workers, thread_name_prefix=f"sync-{pace.slug}"[:40]) as pool:
                # One copy of the context per worker (a context is entered by one thread at a time).
                futures = [pool.submit(contextvars.copy_context().run, worker) for _ in range(workers)]
            for future in futures:
                future.result()  # a worker's own failure (its write buffer's flush): raised here
    if pace.error is not None:
        raise pace.error
    return [results[i] for i in range(len(items))]
