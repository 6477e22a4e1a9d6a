"""Groups (group management on) against scim2-server + moto, driven through the dispatcher as the
consumer does: JumpCloud's rules and request counts."""
import pytest

from idp.provisioning.dispatch import Dispatcher

APP = "office"


@pytest.fixture
def dispatcher(engine):
    return Dispatcher(engine)


def sp_member_names(scim, group_name):
    group = scim.group_by_name(group_name)
    assert group is not None, f"no SP group {group_name}"
    names = []
    for m in group.get("members") or []:
        names.append(scim.get("Users", m["value"])["userName"])
    assert len(names) == len(set(names)), "duplicate members"
    return sorted(names)


def emails(directory, uids):
    return sorted(directory.users[u]["email"] for u in uids)


def test_group_push_with_more_than_100_members_add_and_remove(directory, scim, dispatcher, state):
    directory.add_app(APP, scim.base_url, group_management=True)
    gid = directory.add_group("Engineering")
    first = [directory.add_user() for _ in range(150)]
    directory.members[gid] = set(first)
    directory.bind_group(APP, gid)

    dispatcher.apply({"type": "app.access_changed", "id": gid, "app": APP})
    counts = scim.counts()
    assert counts == {"GET Users": 150, "POST Users": 150, "GET Groups": 1, "POST Groups": 1, "PATCH Groups": 1}
    assert sp_member_names(scim, "Engineering") == emails(directory, first)
    post = [r for r in scim.requests if r[0] == "POST" and r[1].endswith("/Groups")][0]
    assert len(post[3]["members"]) == 100
    patch = [r for r in scim.requests if r[0] == "PATCH"][0]
    assert sum(len(op["value"]) for op in patch[3]["Operations"]) == 50

    # 120 leave, 30 join: 150 member changes → 2 PATCHes of at most 100
    scim.reset_counts()
    leavers, stayers = first[:120], first[120:]
    joiners = [directory.add_user() for _ in range(30)]
    directory.members[gid] = set(stayers) | set(joiners)
    dispatcher.apply({"type": "group.members_changed", "id": gid})
    counts = scim.counts()
    assert counts["PATCH Groups"] == 2
    assert counts["POST Users"] == 30
    assert counts["PATCH Users"] == 120  # leavers deactivated (no other binding)
    for r in scim.requests:
        if r[0] == "PATCH" and "/Groups/" in r[1]:
            ops = r[3]["Operations"]
            changes = sum(len(op.get("value") or [1]) if op["path"] == "members" else 1 for op in ops)
            assert changes <= 100
            assert not any(op["op"].lower() == "replace" and op["path"] == "members" for op in ops)
    assert sp_member_names(scim, "Engineering") == emails(directory, stayers + joiners)
    sp = {u["userName"]: u for u in scim.list("Users")}
    assert all(sp[directory.users[u]["email"]]["active"] is False for u in leavers)
    assert all(sp[directory.users[u]["email"]]["active"] is True for u in stayers + joiners)

    # the same event again: nothing to do, no request
    scim.reset_counts()
    dispatcher.apply({"type": "group.members_changed", "id": gid})
    assert scim.requests == []


def test_rename_then_delete(directory, scim, dispatcher):
    directory.add_app(APP, scim.base_url, group_management=True)
    gid = directory.add_group("Sales")
    uid = directory.add_user()
    directory.members[gid] = {uid}
    directory.bind_group(APP, gid)
    dispatcher.apply({"type": "group.created", "id": gid})
    assert scim.group_by_name("Sales") is not None

    scim.reset_counts()
    directory.groups[gid]["name"] = "Sales EMEA"
    dispatcher.apply({"type": "group.updated", "id": gid})
    assert scim.counts() == {"PATCH Groups": 1}
    assert scim.requests[0][3]["Operations"] == [{"op": "replace", "path": "displayName", "value": "Sales EMEA"}]
    assert scim.group_by_name("Sales EMEA") is not None and scim.group_by_name("Sales") is None

    scim.reset_counts()
    directory.delete_group(gid)
    dispatcher.apply({"type": "group.deleted", "id": gid})
    assert scim.group_by_name("Sales EMEA") is None
    assert scim.counts() == {"DELETE Groups": 1, "PATCH Users": 1}  # its only member lost access
    assert scim.user_by_name(f"{uid}@example.com")["active"] is False


def test_unbound_group_left_as_is_members_deactivated_unless_kept(directory, scim, dispatcher):
    directory.add_app(APP, scim.base_url, group_management=True)
    g1 = directory.add_group("G1")
    g2 = directory.add_group("G2")
    a, b, c = directory.add_user(), directory.add_user(), directory.add_user()
    directory.members[g1] = {a, b, c}
    directory.members[g2] = {b}
    directory.bind_group(APP, g1)
    directory.bind_group(APP, g2)
    directory.bind_user(APP, c)
    dispatcher.apply({"type": "app.access_changed", "id": g1, "app": APP})
    dispatcher.apply({"type": "app.access_changed", "id": g2, "app": APP})
    before = sp_member_names(scim, "G1")

    scim.reset_counts()
    directory.unbind_group(APP, g1)
    dispatcher.apply({"type": "app.access_changed", "id": g1, "app": APP})
    assert sp_member_names(scim, "G1") == before  # left as it is
    assert scim.counts() == {"PATCH Users": 1}  # only a: b kept by G2, c bound directly
    sp = {u["userName"]: u["active"] for u in scim.list("Users")}
    assert sp == {f"{a}@example.com": False, f"{b}@example.com": True, f"{c}@example.com": True}


def test_same_name_group_is_adopted_and_empty_groups_not_created(directory, scim, dispatcher):
    directory.add_app(APP, scim.base_url, group_management=True)
    existing = scim.create("Groups", {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Design"})
    gid = directory.add_group("Design")
    empty = directory.add_group("Nobody")
    uid = directory.add_user()
    directory.members[gid] = {uid}
    for g in (gid, empty):
        directory.bind_group(APP, g)
        dispatcher.apply({"type": "app.access_changed", "id": g, "app": APP})
    groups = scim.list("Groups")
    assert [g["displayName"] for g in groups] == ["Design"]
    assert groups[0]["id"] == existing["id"]
    assert sp_member_names(scim, "Design") == [f"{uid}@example.com"]
    assert "POST Groups" not in scim.counts()


def test_membership_waits_for_the_user_to_be_provisioned(directory, scim, dispatcher, engine):
    """A group event before its members exist in the SP creates nothing; the user's own
    provisioning then creates the group with it."""
    directory.add_app(APP, scim.base_url, group_management=True)
    gid = directory.add_group("Late")
    uid = directory.add_user(state="SUSPENDED")
    directory.members[gid] = {uid}
    directory.bind_group(APP, gid)
    dispatcher.apply({"type": "group.created", "id": gid})
    assert scim.list("Groups") == []
    directory.update_user(uid, state="ACTIVE")
    dispatcher.apply({"type": "user.updated", "id": uid})
    assert sp_member_names(scim, "Late") == [f"{uid}@example.com"]


def test_user_joining_second_group_gets_one_small_patch(directory, scim, dispatcher):
    directory.add_app(APP, scim.base_url, group_management=True)
    g1, g2 = directory.add_group("A"), directory.add_group("B")
    u1, u2 = directory.add_user(), directory.add_user()
    directory.members[g1] = {u1, u2}
    directory.members[g2] = {u1}
    for g in (g1, g2):
        directory.bind_group(APP, g)
        dispatcher.apply({"type": "app.access_changed", "id": g, "app": APP})
    scim.reset_counts()
    directory.members[g2].add(u2)
    dispatcher.apply({"type": "group.members_changed", "id": g2})
    assert scim.counts() == {"PATCH Groups": 1}
    assert sp_member_names(scim, "B") == sorted([f"{u1}@example.com", f"{u2}@example.com"])
