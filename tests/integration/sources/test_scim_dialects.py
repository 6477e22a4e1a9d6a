"""The identity sources' SCIM server under the request shapes of real clients (Entra ID, Okta), filters, paging,
attributes, and the change events and audit a source's changes leave (one path with an admin's)."""
from __future__ import annotations

import json

import boto3

from idp_testing.scim_harness import ENTERPRISE, PATCH_OP, SCIM_GROUP, SCIM_USER, user_body


def _drain(queue_url: str) -> list[dict]:
    sqs, bodies = boto3.client("sqs"), []
    while True:
        got = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
        if not got:
            return bodies
        for m in got:
            bodies.append(json.loads(m["Body"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"])


def test_entra_patch_deactivates_with_a_string_boolean_and_capitalised_ops(scim, aws_env):
    src = scim.source("Entra ID")
    uid = src.create_user("alan", email="alan@example.com")["id"]
    _drain(aws_env.queue_url)
    status, body = src("PATCH", f"/Users/{uid}", {"schemas": [PATCH_OP], "Operations": [
        {"op": "Replace", "path": "active", "value": "False"},
        {"op": "Add", "path": "title", "value": "Cryptanalyst"},
        {"op": "Replace", "path": 'emails[type eq "work"].value', "value": "alan.turing@example.com"},
        {"op": "Replace", "path": f"{ENTERPRISE}:department", "value": "Hut 8"}]})
    assert status == 200, body
    assert body["active"] is False and body["title"] == "Cryptanalyst"
    user = scim.admin("GET", f"/admin/users/{uid}")[1]
    assert (user["state"], user["email"], user["department"]) == ("SUSPENDED", "alan.turing@example.com", "Hut 8")
    # ... the same event an admin's change publishes, and the audit names the source as the actor
    assert [(e["type"], e["id"]) for e in _drain(aws_env.queue_url)] == [("user.updated", uid)]
    events = scim.admin("GET", "/admin/events", query={"user_id": uid, "type": "admin.user.updated"})[1]["items"]
    assert events[0]["actor"] == {"type": "source", "id": src.id}
    assert {"state", "email", "title", "department"} <= set(events[0]["changes"])


def test_okta_put_of_a_whole_user_and_path_less_patch(scim):
    src = scim.source("Okta")
    created = src.create_user("kat", title="Engineer", **{ENTERPRISE: {"employeeNumber": "12"}})
    whole = user_body("kat", given="Katherine", family="Johnson", externalId="00u1", title=None,
                      phoneNumbers=[{"value": "+1 555 0101", "type": "work"}])
    whole.pop("title")
    status, body = src("PUT", f"/Users/{created['id']}", whole)
    assert status == 200, body
    user = scim.admin("GET", f"/admin/users/{created['id']}")[1]
    assert (user["firstname"], user["phone"], user.get("title"), user.get("employee_id")) == ("Katherine", "+1 555 0101", None, None)
    assert body["externalId"] == "00u1"
    status, body = src("PATCH", f"/Users/{created['id']}", {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "value": {"active": False}}]})
    assert status == 200 and body["active"] is False
    assert scim.admin("GET", f"/admin/users/{created['id']}")[1]["state"] == "SUSPENDED"
    status, body = src("PATCH", f"/Users/{created['id']}", {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "value": {"active": True}}]})
    assert scim.admin("GET", f"/admin/users/{created['id']}")[1]["state"] == "ACTIVE"


def test_group_members_rfc_paths_and_entra_removal_by_value_list(scim, aws_env):
    src = scim.source()
    a, b, c = (src.create_user(n)["id"] for n in ("amy", "ben", "cal"))
    status, group = src("POST", "/Groups", {"schemas": [SCIM_GROUP], "displayName": "Ops", "members": [{"value": a}, {"value": b}]})
    assert status == 201, group
    gid = group["id"]
    assert {m["value"] for m in group["members"]} == {a, b}
    status, body = src("PATCH", f"/Groups/{gid}", {"schemas": [PATCH_OP], "Operations": [
        {"op": "add", "path": "members", "value": [{"value": c}]},
        {"op": "remove", "path": f'members[value eq "{a}"]'}]})
    assert status == 200, body
    assert {m["id"] for m in scim.admin("GET", f"/admin/groups/{gid}/members")[1]["items"]} == {b, c}
    # Entra: capitalised op, members removed by a value list
    status, body = src("PATCH", f"/Groups/{gid}", {"schemas": [PATCH_OP], "Operations": [
        {"op": "Remove", "path": "members", "value": [{"value": b}, {"value": c}]},
        {"op": "Replace", "path": "displayName", "value": "Operations"}]})
    assert status == 200, body
    assert scim.admin("GET", f"/admin/groups/{gid}/members")[1]["items"] == []
    assert scim.admin("GET", f"/admin/groups/{gid}")[1]["name"] == "Operations"
    kinds = {e["type"] for e in _drain(aws_env.queue_url)}
    assert {"group.created", "group.members_changed", "group.updated"} <= kinds
    # a member that is not a user of this source is refused
    other = scim.admin("POST", "/admin/users", {"username": "dora", "email": "dora@example.com", "firstname": "Dora",
                                                "lastname": "Adm"})[1]["id"]
    status, body = src("PATCH", f"/Groups/{gid}", {"schemas": [PATCH_OP], "Operations": [{"op": "add", "path": "members",
                                                                                         "value": [{"value": other}]}]})
    assert status == 400 and body["scimType"] == "invalidValue"
    # a group of excludedAttributes=members (Entra) and a PUT replacing members
    status, body = src("GET", f"/Groups/{gid}", query={"excludedAttributes": "members"})
    assert status == 200 and "members" not in body
    status, body = src("PUT", f"/Groups/{gid}", {"schemas": [SCIM_GROUP], "displayName": "Operations", "members": [{"value": a}]})
    assert status == 200 and [m["value"] for m in body["members"]] == [a]
    assert src("DELETE", f"/Groups/{gid}")[0] == 204
    assert scim.admin("GET", f"/admin/groups/{gid}")[0] == 404


def test_filters(scim):
    src = scim.source()
    src.create_user("ann.lee", email="ann@corp.example", externalId="X1", displayName="Ann Lee")
    src.create_user("bob.ray", email="bob@corp.example", externalId="X2")
    src.create_user("ann.oak", email="oak@other.example", externalId="X3", displayName="Ann Oak")

    def names(filter_: str) -> list[str]:
        status, body = src("GET", "/Users", query={"filter": filter_})
        assert status == 200, body
        assert body["totalResults"] == len(body["Resources"])
        return sorted(r["userName"] for r in body["Resources"])

    assert names('userName eq "ANN.LEE"') == ["ann.lee"]
    assert names('emails.value eq "bob@corp.example"') == ["bob.ray"]
    assert names('emails eq "bob@corp.example"') == ["bob.ray"]
    assert names('externalId eq "X3"') == ["ann.oak"]
    assert names('userName sw "ann"') == ["ann.lee", "ann.oak"]
    assert names('emails.value co "corp"') == ["ann.lee", "bob.ray"]
    assert names("displayName pr") == ["ann.lee", "ann.oak"]
    assert names('userName sw "ann" and emails.value co "other"') == ["ann.oak"]
    assert names('externalId eq "X1" or externalId eq "X2"') == ["ann.lee", "bob.ray"]
    assert names('displayName eq "Ann Oak"') == ["ann.oak"]
    assert names('userName eq "nobody"') == []
    status, body = src("GET", "/Users", query={"filter": "userName zz 1"})
    assert status == 400 and body["scimType"] == "invalidFilter"
    status, groups = src("POST", "/Groups", {"schemas": [SCIM_GROUP], "displayName": "Ann's"})
    status, body = src("GET", "/Groups", query={"filter": 'displayName eq "ann\'s"'})
    assert [g["displayName"] for g in body["Resources"]] == ["Ann's"]


def test_paging_and_attributes(scim):
    src = scim.source()
    for i in range(7):
        src.create_user(f"p{i}")
    status, page = src("GET", "/Users", query={"startIndex": "3", "count": "2"})
    assert status == 200 and page["totalResults"] == 7 and page["startIndex"] == 3 and page["itemsPerPage"] == 2
    status, everyone = src("GET", "/Users")
    ids = [r["id"] for r in everyone["Resources"]]
    assert [r["id"] for r in page["Resources"]] == ids[2:4]
    status, tail = src("GET", "/Users", query={"startIndex": "7", "count": "5"})
    assert [r["id"] for r in tail["Resources"]] == ids[6:]
    status, empty = src("GET", "/Users", query={"count": "0"})
    assert empty["totalResults"] == 7 and empty.get("Resources", []) == []
    status, slim = src("GET", "/Users", query={"attributes": "userName"})
    assert set(slim["Resources"][0]) <= {"schemas", "id", "userName", "meta"} and "emails" not in slim["Resources"][0]
    status, body = src("GET", f"/Users/{ids[0]}", query={"excludedAttributes": "emails,name"})
    assert "emails" not in body and "name" not in body and body["userName"]


def test_discovery(scim):
    src = scim.source()
    status, config = src("GET", "/ServiceProviderConfig")
    assert status == 200 and config["patch"]["supported"] is True and config["filter"]["supported"] is True
    status, types = src("GET", "/ResourceTypes")
    assert {t["name"] for t in types["Resources"]} == {"User", "Group"}
    status, schemas = src("GET", "/Schemas")
    assert {s["id"] for s in schemas["Resources"]} == {SCIM_USER, SCIM_GROUP, ENTERPRISE}
    assert src("GET", f"/Schemas/{SCIM_USER}")[1]["id"] == SCIM_USER
    assert src("GET", "/Nope")[0] == 404


def test_entra_manager_as_a_bare_id_or_without_its_ref(scim):
    # Entra's default mapping sends the enterprise manager as {"value": id} on create and as a bare id in a PATCH
    src = scim.source("Entra ID")
    boss = src.create_user("boss")["id"]
    status, body = src("POST", "/Users", user_body("emp", **{ENTERPRISE: {"manager": {"value": boss}, "department": "R&D"}}))
    assert status == 201, body
    assert body[ENTERPRISE]["manager"]["value"] == boss and body[ENTERPRISE]["department"] == "R&D"
    other = src.create_user("boss2")["id"]
    status, body = src("PATCH", f"/Users/{body['id']}", {"schemas": [PATCH_OP], "Operations": [
        {"op": "Add", "path": f"{ENTERPRISE}:manager", "value": other}]})
    assert status == 200 and body[ENTERPRISE]["manager"]["value"] == other, body
