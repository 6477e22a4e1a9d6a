"""Deterministic interleavings of concurrent workers, for property tests of provisioning.

Each worker is a real thread, but only one runs at a time: at every yield point (each call into the
SCIM SP or the provisioning state, and every wait of a claim) the running worker hands the baton
back and the scheduler decides who goes next, from a `random.Random` that hypothesis controls. A
failing interleaving is therefore reproducible and shrinkable, and there are no sleeps to tune.
"""
from __future__ import annotations

import functools
import threading
from typing import Any, Callable


class Baton:
    """One worker at a time; `point()` inside a worker yields to the scheduler."""

    def __init__(self):
        self._cv = threading.Condition()
        self._turn: str | None = None
        self._local = threading.local()
        self.steps = 0

    # ---- inside a worker
    def point(self, *_args) -> None:
        me = getattr(self._local, "name", None)
        if me is None:  # the scheduler's own thread (setup, checks): no yielding
            return
        with self._cv:
            self._turn = None
            self._cv.notify_all()
            self._cv.wait_for(lambda: self._turn == me)

    # ---- the scheduler
    def spawn(self, name: str, work: Callable[[], Any]) -> "Worker":
        worker = Worker(name, work, self)
        worker.thread.start()
        return worker

    def step(self, worker: "Worker", timeout: float = 30.0) -> None:
        """Let `worker` run until its next yield point (or its end)."""
        with self._cv:
            self._turn = worker.name
            self._cv.notify_all()
            if not self._cv.wait_for(lambda: self._turn is None or worker.done, timeout=timeout):
                raise RuntimeError(f"worker {worker.name} neither yielded nor finished in {timeout}s")
        self.steps += 1


class Worker:
    def __init__(self, name: str, work: Callable[[], Any], baton: Baton):
        self.name, self.work, self.baton = name, work, baton
        self.done = False
        self.result: Any = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)

    def _run(self) -> None:
        baton = self.baton
        baton._local.name = self.name
        with baton._cv:
            baton._cv.wait_for(lambda: baton._turn == self.name)
        try:
            self.result = self.work()
        except BaseException as exc:  # noqa: BLE001 - handed to the scheduler
            self.error = exc
        finally:
            with baton._cv:
                self.done = True
                baton._turn = None
                baton._cv.notify_all()


class Yielding:
    """A proxy that yields the baton before every method call of `inner` (a state store, a SCIM client)."""

    def __init__(self, inner: Any, baton: Baton):
        self._inner, self._baton = inner, baton

    def __getattr__(self, name: str):
        value = getattr(self._inner, name)
        if not callable(value) or name in ("buffered", "clock"):
            return value

        @functools.wraps(value)
        def call(*args, **kwargs):
            self._baton.point()
            return value(*args, **kwargs)

        return call
