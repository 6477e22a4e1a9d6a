"""The event outbox: change events are stored with the change (in its transaction), then published.
A publish that fails leaves the event in the outbox, and the scheduled relay (`relay_outbox`) sends
it later, so provisioning always hears of a change."""
from __future__ import annotations

from idp.directory.ports import DirectoryRepository, Publisher


def relay_outbox(store: DirectoryRepository, publisher: Publisher, max_rounds: int = 50) -> int:
    """Publish what the outbox still holds and clear what was sent; returns how many were sent."""
    sent = 0
    for _ in range(max_rounds):
        items = store.pending_outbox()
        if not items:
            break
        failed = {e["event_id"] for e in publisher.publish([i["event"] for i in items])}
        done = [i["sk"] for i in items if i["event"]["event_id"] not in failed]
        store.clear_outbox(done)
        sent += len(done)
        if failed:
            break
    return sent
