"""The reconcile lease as a reconcile run holds it: taken before the run reads the mapping items,
renewed between two objects once it runs low (after writing what is buffered), dropped once what
was created under it is written. While it is fresh, users are created without a claim each."""
from __future__ import annotations

import threading

from aws_lambda_powertools import Logger

from idp.provisioning.ports import LeaseStore, WriteBuffer
from idp.provisioning.run import Run

log = Logger(child=True)

# The reconcile lease (ports.LEASE_SECONDS long) is renewed, after writing what is buffered, once
# less than this is left; a user is created under the lease only with at least this much left, so
# one user's work (a few requests, each bounded by the client timeout and the in-invocation
# Retry-After budget) and the write of its mapping item end well before the lease could lapse.
LEASE_RENEW_BELOW = 120.0


class ReconcileLease:
    def __init__(self, leases: LeaseStore, buffer: WriteBuffer):
        self.leases = leases
        self.buffer = buffer
        self._renewing = threading.Lock()

    def take(self, run: Run) -> bool:
        got = self.leases.acquire_lease(run.slug)
        if got is None:
            return False
        run.lease, until = got
        run.lease_until = until
        return True

    def fresh(self, run: Run) -> bool:
        return bool(run.lease) and run.lease_until - self.leases.clock() >= LEASE_RENEW_BELOW

    def keep(self, run: Run) -> None:
        """Between two objects of a reconcile: renew the lease once it runs low, after writing what
        is buffered (the mapping items of creates done under it). Lost: go on with claims."""
        if not run.lease or run.lease_until - self.leases.clock() >= LEASE_RENEW_BELOW:
            return
        with self._renewing:
            # One worker of a parallel run renews; the others, waiting here, find it renewed. The others'
            # held creates are seconds old and written when their buffers fill or their worker ends.
            if not run.lease or run.lease_until - self.leases.clock() >= LEASE_RENEW_BELOW:
                return
            self.buffer.flush_maps()
            until = self.leases.renew_lease(run.slug, run.lease)
            if until is None:
                log.warning("reconcile lease of %s lapsed; creating with claims from here on", run.slug, extra={"app": run.slug})
                run.lease, run.lease_until = None, 0.0
            else:
                run.lease_until = until

    def drop(self, run: Run) -> None:
        """Release the lease; call only once what was created under it is written."""
        if run.lease:
            token, run.lease, run.lease_until = run.lease, None, 0.0
            try:
                self.leases.release_lease(run.slug, token)
            except Exception:  # it lapses by itself
                log.exception("lease release failed", extra={"app": run.slug})
