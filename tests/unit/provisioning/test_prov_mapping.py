from idp.scim import mapping as mp
from idp.scim.protocol import ENTERPRISE_SCHEMA

USER = {"id": "u1", "username": "ann", "email": "ann@x.com", "firstname": "Ann", "lastname": "Lee",
        "title": "Eng", "department": "R&D", "employee_id": "7", "phone": "+1", "state": "ACTIVE"}


def test_officespace_defaults():
    flat = mp.desired_user_state(USER)
    payload = mp.build_user_payload(flat)
    assert payload["userName"] == "ann@x.com"
    assert payload["externalId"] == "u1"
    assert payload["displayName"] == "Ann Lee"
    assert payload["emails"] == [{"type": "work", "value": "ann@x.com", "primary": True}]
    assert payload["phoneNumbers"] == [{"type": "work", "value": "+1", "primary": True}]
    assert payload[ENTERPRISE_SCHEMA] == {"department": "R&D", "employeeNumber": "7"}
    assert ENTERPRISE_SCHEMA in payload["schemas"]
    assert payload["active"] is True


def test_roundtrip_flatten():
    flat = mp.desired_user_state(USER)
    again = mp.flatten_resource(mp.build_user_payload(flat), flat.keys())
    assert mp.changed_paths(again, flat) == []


def test_flatten_is_caseless_on_names_and_username():
    resource = {"UserName": "ANN@x.com", "Emails": [{"Type": "Work", "Value": "ann@x.com"}], "active": "True"}
    flat = mp.flatten_resource(resource, ["userName", mp.WORK_EMAIL, "active"])
    assert mp.changed_paths(flat, {"userName": "ann@x.com", mp.WORK_EMAIL: "ann@x.com", "active": True}) == []


def test_patch_ops_only_for_changes():
    old = mp.desired_user_state(USER)
    new = mp.desired_user_state({**USER, "title": "Lead"})
    assert mp.user_patch_ops(old, new) == [{"op": "replace", "path": "title", "value": "Lead"}]
    assert mp.user_patch_ops(old, old) == []
    gone = mp.desired_user_state({**USER, "phone": None, "title": None})
    ops = mp.user_patch_ops(old, gone)
    assert {"op": "remove", "path": 'phoneNumbers[type eq "work"]'} in ops
    assert {"op": "remove", "path": "title"} in ops
    back = mp.user_patch_ops(gone, old)
    assert {"op": "add", "path": "phoneNumbers", "value": [{"type": "work", "value": "+1", "primary": True}]} in back


def test_entra_dialect():
    old = mp.desired_user_state(USER)
    new = mp.desired_user_state(USER, active=False)
    assert mp.user_patch_ops(old, new, "entra") == [{"op": "Replace", "path": "active", "value": False}]
    batches = mp.member_patch_batches(["a"], ["b"], "entra")
    assert batches == [[{"op": "Remove", "path": "members", "value": [{"value": "b"}]},
                        {"op": "Add", "path": "members", "value": [{"value": "a"}]}]]


def test_member_batches_at_most_100_and_never_replace():
    add = [f"a{i}" for i in range(130)]
    remove = [f"r{i}" for i in range(90)]
    batches = mp.member_patch_batches(add, remove, rename_to="New")
    assert len(batches) == 3
    for ops in batches:
        changes = sum(len(op["value"]) if op["op"] == "add" else 1 for op in ops if op["path"] != "displayName")
        assert changes <= 100
        assert not any(op["op"] == "replace" and op["path"] == "members" for op in ops)
    assert batches[0][0] == {"op": "replace", "path": "displayName", "value": "New"}
    assert batches[0][1] == {"op": "remove", "path": 'members[value eq "r0"]'}


def test_custom_mapping_and_validation():
    import pytest

    mapping = {"userName": "username", "name.givenName": "firstname", f"{ENTERPRISE_SCHEMA}:costCenter": "department"}
    assert mp.validate_mapping(mapping) == mapping
    flat = mp.desired_user_state(USER, mapping)
    assert flat["userName"] == "ann" and flat[f"{ENTERPRISE_SCHEMA}:costCenter"] == "R&D"
    with pytest.raises(ValueError):
        mp.validate_mapping({"userName": "password"})
    with pytest.raises(ValueError):
        mp.validate_mapping({"name.givenName": "firstname"})


def test_hash_is_stable():
    a = mp.desired_user_state(USER)
    b = dict(reversed(list(a.items())))
    assert mp.state_hash(a) == mp.state_hash(b)
