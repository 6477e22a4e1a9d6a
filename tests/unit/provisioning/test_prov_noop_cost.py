"""A change event that changes nothing costs one provisioning-state read (the user's own item) and no
SCIM request: the app's status (breaker) is read once per consumer per STATUS_TTL_SECONDS, not per event."""
from __future__ import annotations

from collections import Counter

from idp.provisioning.dispatch import STATUS_TTL_SECONDS, Dispatcher
from idp.provisioning.engine import Engine
from idp_testing.provisioning_state import stores_of

APP = "office"
READS = {"get_map", "maps", "app_status", "access_snapshot", "read_log", "counts", "lease_blocks"}


class CountingState:
    def __init__(self, inner):
        self.inner, self.calls = inner, Counter()

    def __getattr__(self, name):
        value = getattr(self.inner, name)
        if not callable(value) or name in ("buffered", "clock"):
            return value

        def call(*args, **kwargs):
            self.calls[name] += 1
            return value(*args, **kwargs)

        return call


def test_a_storm_of_no_op_user_events_costs_one_read_each(directory, state, tokens, sp):
    now = [0.0]
    counting = CountingState(state)
    engine = Engine(directory, stores_of(counting), tokens, client_factory=sp.client_factory)
    dispatcher = Dispatcher(engine, clock=lambda: now[0])
    uids = [directory.add_user() for _ in range(30)]
    for uid in uids:
        directory.bind_user(APP, uid)
        dispatcher.apply({"type": "app.access_changed", "id": uid, "app": APP})
    counting.calls.clear()
    sp.reset_counts()
    for uid in uids:  # nothing changed: every event finds the pushed hash equal
        dispatcher.apply({"type": "user.updated", "id": uid})
    reads = sum(n for name, n in counting.calls.items() if name in READS)
    assert reads <= len(uids) + 1, dict(counting.calls)
    assert sp.counts() == {}
    now[0] += STATUS_TTL_SECONDS + 0.1  # the status is read again after its TTL
    dispatcher.apply({"type": "user.updated", "id": uids[0]})
    # The pushes before the storm left the status their own count answered with in the cache, so the storm
    # reads no status item; once the TTL has passed it is read again, once.
    assert counting.calls["app_status"] == 1


def test_an_opened_breaker_is_seen_at_once_by_the_consumer_that_opened_it(directory, state, tokens, sp):
    from idp.provisioning.policy import BreakerSettings
    from idp.scim.protocol import RetryLater

    engine = Engine(directory, stores_of(state), tokens, client_factory=sp.client_factory)
    dispatcher = Dispatcher(engine, breaker=BreakerSettings(threshold=1), clock=lambda: 0.0)
    uid = directory.add_user()
    directory.bind_user(APP, uid)
    sp.fail("POST", "Users", RetryLater("SP answered 503", status=503))
    sp.fail("GET", "Users", RetryLater("SP answered 503", status=503))
    for _ in range(2):
        try:
            dispatcher.apply({"type": "user.created", "id": uid})
        except Exception:  # noqa: BLE001 - the first fails on the SP, the second on the open breaker
            pass
    sp.reset_counts()
    try:
        dispatcher.apply({"type": "user.created", "id": uid})
    except Exception as exc:  # noqa: BLE001
        assert "paused" in str(exc)
    assert sp.counts() == {}  # no request while the breaker is open, though the clock did not move


def test_after_a_reconcile_a_membership_event_syncs_only_the_member_who_changed(directory, state, tokens, sp):
    """The reconcile leaves each bound group's members as its snapshot (where none is), so the first
    membership event after it compares against them instead of syncing every member again."""
    from idp.provisioning.reconcile import Reconciler

    engine = Engine(directory, stores_of(state), tokens, client_factory=sp.client_factory)
    dispatcher = Dispatcher(engine, Reconciler(engine), clock=lambda: 0.0)
    gid = directory.add_group("Staff")
    directory.bind_group(APP, gid)
    uids = [directory.add_user() for _ in range(20)]
    directory.members[gid].update(uids)
    Reconciler(engine).reconcile_app(APP)
    assert state.access_snapshot(APP, gid) == set(uids)
    late = directory.add_user()
    directory.members[gid].add(late)
    synced = []
    real = engine.sync_user
    engine.sync_user = lambda slug, uid, **kw: synced.append(uid) or real(slug, uid, **kw)
    dispatcher.apply({"type": "group.members_changed", "id": gid})
    assert synced == [late]
    assert state.access_snapshot(APP, gid) == set(uids) | {late}


def test_a_snapshot_a_consumer_writes_while_a_reconcile_runs_is_kept(directory, state, tokens, sp):
    """The race the reconcile's snapshot must not lose: the reconcile read the members and provisioned
    them; then, before it wrote its snapshot, a member left and a consumer handled the change (the events
    the directory sends: the group's, and the user's access), deactivating them and writing its own,
    newer snapshot. The reconcile's write is only-if-absent, so the consumer's snapshot stands."""
    from idp.provisioning.reconcile import Reconciler

    engine = Engine(directory, stores_of(state), tokens, client_factory=sp.client_factory)
    dispatcher = Dispatcher(engine, Reconciler(engine), clock=lambda: 0.0)
    gid = directory.add_group("Staff")
    directory.bind_group(APP, gid)
    uids = [directory.add_user() for _ in range(3)]
    directory.members[gid].update(uids)
    leaver = uids[0]
    real_put, raced = state.put_access_snapshot, []

    def membership_changed(uid: str) -> None:
        dispatcher.apply({"type": "group.members_changed", "id": gid})
        dispatcher.apply({"type": "app.access_changed", "id": uid, "app": APP})

    def consumer_first(slug, g, members, **kw):  # runs just before the reconcile writes its snapshot
        if kw.get("only_if_absent") and not raced:
            raced.append(g)
            directory.members[gid].discard(leaver)
            membership_changed(leaver)
        return real_put(slug, g, members, **kw)

    state.put_access_snapshot = consumer_first
    Reconciler(engine).reconcile_app(APP)
    assert raced == [gid]
    assert sp.user_by_name(f"{leaver}@example.com")["active"] is False
    assert state.access_snapshot(APP, gid) == set(uids) - {leaver}  # the consumer's, not the reconcile's older view
    directory.members[gid].add(leaver)
    membership_changed(leaver)
    assert sp.user_by_name(f"{leaver}@example.com")["active"] is True
    assert state.access_snapshot(APP, gid) == set(uids)


def test_a_new_users_create_marks_its_memberships_in_its_own_save(directory, state, tokens, sp):
    """A created user's mapping carries `memberships_pending` from the save that records the create, so
    no separate write marks it; the flag is cleared once the memberships are applied."""
    directory.set_prov(APP, group_management=True)
    counting = CountingState(state)
    dispatcher = Dispatcher(Engine(directory, stores_of(counting), tokens, client_factory=sp.client_factory), clock=lambda: 0.0)
    uid = directory.add_user()
    directory.bind_user(APP, uid)
    dispatcher.apply({"type": "app.access_changed", "id": uid, "app": APP})
    assert sp.counts().get("POST Users") == 1, sp.counts()
    assert counting.calls["set_memberships_pending"] == 1  # only the clear
    item = state.get_map(APP, "USER", uid)
    assert item["scim_id"] and not item.get("memberships_pending")
