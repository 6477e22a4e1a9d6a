"""The identity sources' SCIM server: /Users through the ScimServerFunction's resolver against moto."""
from __future__ import annotations

from idp_testing.scim_harness import ENTERPRISE, ERROR, PATCH_OP, SCIM_USER, user_body


def test_create_maps_every_attribute_and_reads_back(scim):
    # Given a source, When it POSTs a full user, Then the directory holds the mapped fields
    src = scim.source()
    created = src.create_user("grace", title="Rear Admiral", displayName="Grace H", externalId="E-42",
                              phoneNumbers=[{"value": "+1 555 0100", "type": "work"}, {"value": "+1 555 0199", "type": "mobile"}],
                              emails=[{"value": "home@example.com", "type": "home"}, {"value": "grace@navy.example", "type": "work", "primary": True}],
                              **{ENTERPRISE: {"employeeNumber": "701", "department": "Navy"}})
    status, user = scim.admin("GET", f"/admin/users/{created['id']}")
    assert status == 200
    assert {k: user.get(k) for k in ("username", "email", "firstname", "lastname", "displayname", "title", "phone", "employee_id",
                                     "department", "state", "source_id")} == {
        "username": "grace", "email": "grace@navy.example", "firstname": "Grace", "lastname": "Hopper", "displayname": "Grace H",
        "title": "Rear Admiral", "phone": "+1 555 0100", "employee_id": "701", "department": "Navy", "state": "ACTIVE",
        "source_id": src.id}
    status, again = src("GET", f"/Users/{created['id']}")
    assert status == 200 and again["externalId"] == "E-42" and again["userName"] == "grace" and again["active"] is True
    assert again[ENTERPRISE] == {"employeeNumber": "701", "department": "Navy"}
    assert again["meta"]["location"] == f"https://idp.example.com/scim/v2/Users/{created['id']}"


def test_scim_content_type_and_location(scim):
    src = scim.source()
    status, body, headers = src.with_headers("POST", "/Users", user_body("ada"))
    assert status == 201 and headers["content-type"] == "application/scim+json"
    assert headers["location"].endswith(f"/scim/v2/Users/{body['id']}")


def test_errors_are_scim_errors(scim):
    src = scim.source()
    status, body = src("GET", "/Users/u-nope")
    assert status == 404 and body["schemas"] == [ERROR] and body["status"] == "404"
    status, body = src("POST", "/Users", {"schemas": [SCIM_USER], "name": {"givenName": "x", "familyName": "y"}})
    assert status == 400 and body["scimType"] == "invalidValue" and "userName" in body["detail"]
    status, body = src("POST", "/Users", raw_body="{not json")
    assert status == 400 and body["scimType"] == "invalidSyntax"
    status, body = src("GET", "/Users", query={"filter": 'userName eq "x" and'})
    assert status == 400 and body["scimType"] == "invalidFilter"
    src.create_user("ada")
    status, body = src("POST", "/Users", user_body("ada"))
    assert status == 409 and body["scimType"] == "uniqueness" and body["status"] == "409"
    status, body = src("PATCH", "/Users/" + src("GET", "/Users")[1]["Resources"][0]["id"],
                       {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "nickNameX", "value": "x"}]})
    assert status == 400 and body["scimType"] == "invalidPath"
    status, body = src("PATCH", "/Users/" + src("GET", "/Users")[1]["Resources"][0]["id"],
                       {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "id", "value": "x"}]})
    assert status == 400 and body["scimType"] == "mutability"


def test_a_body_over_one_megabyte_is_a_413(scim):
    src = scim.source()
    big = user_body("big", title="x" * (1024 * 1024))
    status, body = src("POST", "/Users", big)
    assert status == 413 and body["status"] == "413" and body["schemas"] == [ERROR]
    # ... while a body under it (above the admin API's 256 KB) is taken: its mapped attributes, and what the
    # directory does not map only while the copy kept of it fits the table's item (256 KB)
    status, body = src("POST", "/Users", user_body("notbig", nickName="y" * (300 * 1024)))
    assert status == 201 and body["userName"] == "notbig" and "nickName" not in body, body
    status, body = src("POST", "/Users", user_body("kept", nickName="z" * (200 * 1024)))
    assert status == 201 and len(src("GET", f"/Users/{body['id']}")[1]["nickName"]) == 200 * 1024


def test_what_the_directory_does_not_map_reads_back_as_the_source_wrote_it(scim):
    # Given a user with attributes the directory does not map, When the source reads it back (after a PATCH of a
    # mapped one), Then they are there as written and the mapped ones are the directory's; the admin API shows neither
    src = scim.source()
    created = src.create_user("lin", nickName="Lini", addresses=[{"locality": "Oslo", "type": "work"}],
                              emails=[{"value": "lin@example.com", "type": "work", "primary": True},
                                      {"value": "lin@home.example", "type": "home"}])
    status, body = src("PATCH", f"/Users/{created['id']}", {"schemas": [PATCH_OP], "Operations": [
        {"op": "replace", "path": "name.givenName", "value": "Linnea"}]})
    assert status == 200, body
    status, body = src("GET", f"/Users/{created['id']}")
    assert body["nickName"] == "Lini" and body["addresses"] == [{"locality": "Oslo", "type": "work"}]
    assert [e["value"] for e in body["emails"]] == ["lin@example.com", "lin@home.example"]
    assert body["name"]["givenName"] == "Linnea"
    user = scim.admin("GET", f"/admin/users/{created['id']}")[1]
    assert user["firstname"] == "Linnea" and "scim_document" not in user and "nickName" not in str(user)


def test_a_username_filter_is_a_few_key_reads_never_a_scan_or_query(scim):
    # Given a source with users, When its client matches by userName (what Entra and Okta do before every create),
    # Then the server reads the token's source, the login name and the user: GetItems, no Query, no Scan
    from idp.bootstrap import container

    src = scim.source()
    for name in ("ray", "sam", "tia"):
        src.create_user(name)
    src("GET", "/Users")  # last_used_at was written by now
    calls: list[str] = []
    events = container().table.meta.client.meta.events
    record = lambda model, **_: calls.append(model.name)
    events.register("before-call.dynamodb", record)
    try:
        status, body = src("GET", "/Users", query={"filter": 'userName eq "sam"'})
    finally:
        events.unregister("before-call.dynamodb", record)
    assert status == 200 and [r["userName"] for r in body["Resources"]] == ["sam"]
    assert calls == ["GetItem", "GetItem", "GetItem"], calls
