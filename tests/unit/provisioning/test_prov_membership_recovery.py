"""A membership the user's own push could not apply (the group was being created by a stalled worker,
or the SP failed the group's PATCH) is not dropped: the user's next sync applies it, even though the
user itself no longer changes."""
from __future__ import annotations

import pytest

from idp.provisioning.dispatch import Dispatcher, EventFailed
from idp.scim.protocol import RetryLater
from idp_testing.interleave import Baton

APP = "office"


@pytest.fixture
def grouped(directory):
    directory.set_prov(APP, group_management=True)
    first, late = directory.add_user(), directory.add_user()
    gid = directory.add_group("Race")
    directory.members[gid] |= {first, late}
    directory.bind_group(APP, gid)
    return first, late, gid


def test_a_user_created_while_its_group_is_created_joins_it_without_waiting(engine, state, sp, clock, grouped):
    """Whoever comes second adds the membership. Consumer A creates the SP group: it holds the claim and
    has read the members the SP knew (only `first`) when it stops right before its POST. Consumer B then
    creates `late`, finds the group's create in flight and leaves the membership to it: B's event ends
    at once (no waiting on A's claim, no failure). A, once its group is saved, reads the members again
    and adds `late`. (On main 3511b39 B waited on the claim, failed its event with Busy and relied on its
    redelivery; a create that finished without B's next delivery left `late` out.)"""
    first, late, gid = grouped
    directory = engine.directory
    directory.set_prov(APP, group_management=False)
    Dispatcher(engine).apply({"type": "app.access_changed", "id": first, "app": APP})  # first is in the SP, no group yet
    directory.set_prov(APP, group_management=True)
    baton = Baton()
    original = sp.handle
    paused = {"create": False}

    def pause_before_group_create(method, path, params, body):
        if method == "POST" and path == "/Groups" and not paused["create"]:
            paused["create"] = True
            baton.point()  # A: claim held, member list read
        return original(method, path, params, body)

    sp.handle = pause_before_group_create
    a = baton.spawn("A", lambda: engine.sync_group(APP, gid))
    while not paused["create"]:
        baton.step(a)
    slept: list[float] = []
    engine.budget.sleep = engine.claims.sleep = slept.append  # B must not wait on A's claim
    outcomes = Dispatcher(engine).apply({"type": "app.access_changed", "id": late, "app": APP})
    assert [o.outcome for o in outcomes] == ["created"] and slept == []
    while not a.done:
        baton.step(a)
    assert a.error is None, a.error
    sp.handle = original
    members = {m["value"] for m in sp.group_by_name("Race")["members"]}
    assert members == {sp.user_by_name(f"{u}@example.com")["id"] for u in (first, late)}
    assert state.get_map(APP, "GROUP", gid)["members"] == {first, late}


def test_a_failed_membership_patch_is_applied_by_the_next_sync(engine, state, sp, grouped):
    first, late, gid = grouped
    dispatcher = Dispatcher(engine)
    dispatcher.apply({"type": "app.access_changed", "id": gid, "app": APP})  # both users and the group
    directory = engine.directory
    newcomer = directory.add_user()
    directory.members[gid].add(newcomer)
    sp.fail("PATCH", "Groups", RetryLater("SP answered 503", status=503))
    with pytest.raises(EventFailed):  # the user is created; adding it to the group fails
        dispatcher.apply({"type": "app.access_changed", "id": newcomer, "app": APP})
    dispatcher.apply({"type": "app.access_changed", "id": newcomer, "app": APP})  # redelivered
    members = {m["value"] for m in sp.group_by_name("Race")["members"]}
    assert sp.user_by_name(f"{newcomer}@example.com")["id"] in members
