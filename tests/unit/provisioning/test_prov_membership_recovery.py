"""A membership the user's own push could not apply (the group was being created by a stalled worker,
or the SP failed the group's PATCH) is not dropped: the user's next sync applies it, even though the
user itself no longer changes."""
from __future__ import annotations

import pytest

from idp.provisioning.dispatch import Dispatcher, EventFailed
from idp.scim.protocol import RetryLater

APP = "office"


@pytest.fixture
def grouped(directory):
    directory.set_prov(APP, group_management=True)
    first, late = directory.add_user(), directory.add_user()
    gid = directory.add_group("Race")
    directory.members[gid] |= {first, late}
    directory.bind_group(APP, gid)
    return first, late, gid


def test_a_user_who_met_the_group_mid_create_joins_it_on_the_next_delivery(engine, state, sp, clock, grouped):
    first, late, gid = grouped
    dispatcher = Dispatcher(engine)
    engine.directory.set_prov(APP, group_management=False)
    dispatcher.apply({"type": "app.access_changed", "id": first, "app": APP})  # first is in the SP, no group yet
    engine.directory.set_prov(APP, group_management=True)
    stalled = state.claim_create(APP, "GROUP", gid)  # another consumer is creating the group, slowly
    assert stalled
    with pytest.raises(EventFailed):  # late is created, then waits for the group's claim and gives up (Busy)
        dispatcher.apply({"type": "app.access_changed", "id": late, "app": APP})
    assert sp.user_by_name(f"{late}@example.com") is not None
    # The stalled consumer finishes with the member list it read before late existed.
    created = sp.create("Groups", {"displayName": "Race", "externalId": gid,
                                   "members": [{"value": sp.user_by_name(f"{first}@example.com")["id"]}]})
    state.save_pushed(APP, "GROUP", gid, scim_id=created["id"], display_name="Race", members={first},
                      status="synced", claim_token=stalled)
    dispatcher.apply({"type": "app.access_changed", "id": late, "app": APP})  # SQS brings late's event back
    members = {m["value"] for m in sp.group_by_name("Race")["members"]}
    assert members == {sp.user_by_name(f"{u}@example.com")["id"] for u in (first, late)}


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
