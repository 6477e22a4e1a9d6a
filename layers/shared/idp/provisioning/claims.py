"""Create claims as a consumer takes them: before creating a user or group in the SP, claim the
create on its mapping item; wait a little while another worker holds a live claim, then give up
with `Busy` (the message comes back); back off as well when a reconcile holds the app's lease,
since it may be creating the same object without a claim."""
from __future__ import annotations

from typing import Callable

from aws_lambda_powertools import Logger

from idp.provisioning.ports import ClaimStore, LeaseStore, MappingStore
from idp.provisioning.run import Run, ids
from idp.scim.protocol import RetryLater

log = Logger(child=True)

CLAIM_WAIT_SECONDS = 3.0  # how long a worker waits for another's live claim before it gives up (Busy)
CLAIM_POLL_SECONDS = 0.25
BUSY_RETRY_SECONDS = 2.0  # the Retry-After a Busy carries


class Busy(RetryLater):
    """Another worker is creating this object right now."""


class InFlight(Busy):
    """Another worker holds this object's create claim, and the caller asked not to wait for it."""


class CreateClaims:
    def __init__(self, claims: ClaimStore, maps: MappingStore, leases: LeaseStore, sleep: Callable[[float], None]):
        self.claims = claims
        self.maps = maps
        self.leases = leases
        self.sleep = sleep

    def claim(self, run: Run, kind: str, eid: str) -> str | None:
        """Claim the create. Returns a token; None when another worker finished it meanwhile;
        raises Busy while another worker holds a live claim (at once, as InFlight, when the run says
        `run.no_claim_wait`)."""
        slug = run.slug
        waited = 0.0
        while True:
            token = self.claims.claim_create(slug, kind, eid)
            if token:
                # Checked after the claim is taken: a reconcile that took its lease before this
                # read saw (after the lease) no claim here, and may be creating this object.
                if self.leases.lease_blocks(slug, run.lease):
                    self.release(slug, kind, eid, token)
                    m = self.maps.get_map(slug, kind, eid)
                    if m and m.get("scim_id"):
                        return None
                    raise Busy(f"a reconcile of '{slug}' is running; it creates {kind.lower()} {eid}", BUSY_RETRY_SECONDS)
                return token
            m = self.maps.get_map(slug, kind, eid)
            if m and m.get("scim_id"):
                return None
            if run.no_claim_wait:
                raise InFlight(f"another worker is creating {kind.lower()} {eid}", BUSY_RETRY_SECONDS)
            if waited >= CLAIM_WAIT_SECONDS:
                raise Busy(f"another worker is creating {kind.lower()} {eid}", BUSY_RETRY_SECONDS)
            self.sleep(CLAIM_POLL_SECONDS)
            waited += CLAIM_POLL_SECONDS

    def release(self, slug: str, kind: str, eid: str, token: str) -> None:
        try:
            self.claims.release_claim(slug, kind, eid, token)
        except Exception:  # an unreleased claim lapses by itself
            log.exception("claim release failed", extra=ids(slug, kind, eid))
