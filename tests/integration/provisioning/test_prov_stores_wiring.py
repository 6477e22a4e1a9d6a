"""The provisioning state as the composition root hands it out (a Container built from Settings, as a Lambda builds
it): one store per item kind, each part holding the very ports it uses, and a run's log entries and their audit
events held until the run's write buffer ends."""
from __future__ import annotations

from idp.kernel.audit_log import AuditQuery

APP = "wired"


def test_each_part_takes_the_narrow_ports_the_root_built(aws_env):
    from idp.bootstrap import container

    root = container()
    stores = root.provisioning_state
    engine, reconciler, admin = root.engine, root.reconciler, root.provisioning_admin
    assert engine.stores is stores
    assert engine.claims.claims is stores.claims and engine.claims.maps is stores.mappings
    assert engine.claims.leases is stores.lease and engine.lease.leases is stores.lease
    assert engine.lease.buffer is stores.buffer
    assert engine.users.maps is stores.mappings and engine.users.plog is stores.log
    assert engine.groups.maps is stores.mappings and engine.groups.plog is stores.log
    assert (reconciler.buffer, reconciler.mappings, reconciler.status, reconciler.access, reconciler.plog) == (
        stores.buffer, stores.mappings, stores.status, stores.access, stores.log)
    dispatcher = root.consumer.dispatcher
    assert dispatcher.buffer is stores.buffer and dispatcher.status is stores.status
    assert (admin.mappings, admin.app_status, admin.plog) == (stores.mappings, stores.status, stores.log)
    # No facade: no store carries another kind's methods.
    assert not hasattr(stores.mappings, "app_status") and not hasattr(stores.status, "get_map")
    assert not hasattr(stores.claims, "acquire_lease") and not hasattr(stores.log, "claim_create")


def test_a_runs_log_entries_and_their_audit_events_are_written_when_its_buffer_ends(aws_env):
    from idp.bootstrap import container

    root = container()
    stores = root.provisioning_state

    def audited() -> list[dict]:
        return root.audit.query(AuditQuery(type="provisioning", app=APP), limit=50)[0]

    with stores.buffer.buffered():
        for n in range(3):
            stores.log.log(APP, "USER", f"u-{n}", action="create", outcome="success", sp_status=201)
        assert stores.buffer.pending() == 3 and audited() == []  # held by the run
    assert stores.buffer.pending() == 0
    assert [e["action"] for e in stores.log.read_log(APP, user_id="u-1")] == ["create"]
    assert sorted(e["user_id"] for e in audited()) == ["u-0", "u-1", "u-2"]
