"""Group sync decisions on the in-memory state and SP (group management on): create with members, at
most 100 member changes per request, no empty groups, same-name adoption, rename and membership
PATCHes, 404 → re-match and create, delete, and a user created later joining its groups."""
import pytest

from idp.provisioning.dispatch import Dispatcher
from idp.scim.protocol import GROUP_SCHEMA

APP = "office"


@pytest.fixture
def gm_on(directory):
    directory.set_prov(APP, group_management=True)


def group_with(directory, engine, name, n, *, provision=True):
    users = [directory.add_user() for _ in range(n)]
    gid = directory.add_group(name)
    directory.members[gid] = set(users)
    directory.bind_group(APP, gid)
    if provision:
        for uid in users:
            engine.sync_user(APP, uid, fix_memberships=False)
    return gid, users


def sp_members(sp, name):
    return sorted(m["value"] for m in sp.group_by_name(name).get("members") or [])


def scim_ids(state, users):
    return sorted(state.get_map(APP, "USER", u)["scim_id"] for u in users)


def test_group_create_with_members(gm_on, engine, sp, state, directory):
    gid, users = group_with(directory, engine, "Eng", 3)
    sp.reset_counts()
    out = engine.sync_group(APP, gid)
    assert out.outcome == "created" and out.detail == "3 members"
    assert sp.counts() == {"GET Groups": 1, "POST Groups": 1}  # match by displayName, then one POST with the members
    post = sp.requests[1][3]
    assert post["displayName"] == "Eng" and post["externalId"] == gid and len(post["members"]) == 3
    assert sp_members(sp, "Eng") == scim_ids(state, users)
    gm = state.get_map(APP, "GROUP", gid)
    assert gm["members"] == set(users) and gm["status"] == "synced" and "claim_token" not in gm


def test_group_of_more_than_100_is_one_post_and_a_patch(gm_on, engine, sp, state, directory):
    gid, users = group_with(directory, engine, "Big", 130)
    sp.reset_counts()
    assert engine.sync_group(APP, gid).outcome == "created"
    assert sp.counts() == {"GET Groups": 1, "POST Groups": 1, "PATCH Groups": 1}
    assert len(sp.requests[1][3]["members"]) == 100
    assert sum(len(op["value"]) for op in sp.requests[2][3]["Operations"]) == 30
    assert sp_members(sp, "Big") == scim_ids(state, users)
    assert state.get_map(APP, "GROUP", gid)["members"] == set(users)


def test_no_empty_group_until_a_member_is_provisioned(gm_on, engine, sp, state, directory):
    gid, users = group_with(directory, engine, "Late", 1, provision=False)
    assert engine.sync_group(APP, gid).outcome == "no_change"
    assert sp.list("Groups") == []
    # the member's own sync creates the group with it
    assert engine.sync_user(APP, users[0]).outcome == "created"
    assert sp_members(sp, "Late") == scim_ids(state, users)


def test_same_name_group_is_adopted(gm_on, engine, sp, state, directory):
    existing = sp.create("Groups", {"schemas": [GROUP_SCHEMA], "displayName": "Design"})
    gid, users = group_with(directory, engine, "Design", 2)
    assert engine.sync_group(APP, gid).outcome == "adopted"
    assert [g["id"] for g in sp.list("Groups")] == [existing["id"]]
    assert sp_members(sp, "Design") == scim_ids(state, users)
    assert "POST Groups" not in sp.counts()


def test_rename_and_membership_change_are_one_patch(gm_on, engine, sp, state, directory):
    gid, users = group_with(directory, engine, "Sales", 3)
    engine.sync_group(APP, gid)
    sp.reset_counts()
    directory.groups[gid]["name"] = "Sales EMEA"
    directory.members[gid].discard(users[0])
    assert engine.sync_group(APP, gid).outcome == "updated"
    assert sp.counts() == {"PATCH Groups": 1}
    ops = sp.requests[0][3]["Operations"]
    assert ops[0] == {"op": "replace", "path": "displayName", "value": "Sales EMEA"}
    assert ops[1]["op"] == "remove" and not any(op["op"] == "replace" and op["path"] == "members" for op in ops)
    assert sp_members(sp, "Sales EMEA") == scim_ids(state, users[1:])
    assert state.get_map(APP, "GROUP", gid)["members"] == set(users[1:])


def test_group_gone_from_the_sp_is_created_again(gm_on, engine, sp, state, directory):
    gid, users = group_with(directory, engine, "Ops", 2)
    engine.sync_group(APP, gid)
    sp.delete("Groups", state.get_map(APP, "GROUP", gid)["scim_id"])
    directory.groups[gid]["name"] = "Ops 2"
    assert engine.sync_group(APP, gid).outcome == "created"  # PATCH → 404 → re-match → POST
    assert sp_members(sp, "Ops 2") == scim_ids(state, users)


def test_deleted_group_is_deleted_in_the_sp_and_its_members_lose_access(gm_on, engine, sp, state, directory):
    gid, users = group_with(directory, engine, "Temp", 1)
    Dispatcher(engine).apply({"type": "app.access_changed", "id": gid, "app": APP})
    directory.delete_group(gid)
    outcomes = Dispatcher(engine).apply({"type": "group.deleted", "id": gid})
    assert sorted(o.outcome for o in outcomes) == ["deactivated", "deleted"]
    assert sp.list("Groups") == [] and state.get_map(APP, "GROUP", gid) is None
    assert sp.user_by_name(f"{users[0]}@example.com")["active"] is False


def test_user_joining_a_pushed_group_gets_one_small_patch(gm_on, engine, sp, state, directory):
    gid, users = group_with(directory, engine, "A", 2)
    engine.sync_group(APP, gid)
    newcomer = directory.add_user()
    directory.members[gid].add(newcomer)
    sp.reset_counts()
    assert engine.sync_user(APP, newcomer).outcome == "created"
    assert sp.counts() == {"GET Users": 1, "POST Users": 1, "PATCH Groups": 1}
    assert sp_members(sp, "A") == scim_ids(state, users + [newcomer])
