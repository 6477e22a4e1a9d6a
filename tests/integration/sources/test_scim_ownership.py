"""Who owns what between identity sources and administrators (contract section 10): a source sees and changes only
its users and groups; its POST of someone else's user is a 409 unless its match rule links an unowned user holding
no role; the fields it maps are refused to administrators (409 owned_by_source); tokens open only /scim/v2."""
from __future__ import annotations

from idp_testing.scim_harness import PATCH_OP, SCIM_GROUP, user_body

ADMIN_TOKEN = "test-admin-token-9f8e7d6c5b4a"


def _admin_user(scim, name: str, **extra) -> dict:
    status, body = scim.admin("POST", "/admin/users", {"username": name, "email": f"{name}@example.com", "firstname": name.title(),
                                                        "lastname": "Admin", **extra})
    assert status == 201, body
    return body


def test_a_post_of_a_user_not_the_sources_is_a_409_without_a_match_rule(scim):
    src = scim.source(match="none")
    _admin_user(scim, "edith")
    for body in (user_body("edith", email="other@example.com"), user_body("someone", email="edith@example.com"),
                 user_body("edith@example.com", email="x@example.com")):
        status, answer = src("POST", "/Users", body)
        assert status == 409 and answer["scimType"] == "uniqueness", answer
    assert src("GET", "/Users")[1]["totalResults"] == 0


def test_match_email_links_an_unowned_user_and_then_its_fields_are_the_sources(scim):
    src = scim.source("Workday", match="email")
    admin_made = _admin_user(scim, "frank")
    status, linked = src("POST", "/Users", user_body("frank.w", email="FRANK@example.com", given="Franklin", externalId="W-9"))
    assert status == 201 and linked["id"] == admin_made["id"], linked
    user = scim.admin("GET", f"/admin/users/{admin_made['id']}")[1]
    assert (user["username"], user["firstname"], user["source_id"]) == ("frank.w", "Franklin", src.id)
    # an administrator may not change what the source maps ...
    status, refused = scim.admin("PATCH", f"/admin/users/{admin_made['id']}", {"firstname": "Frank"})
    assert status == 409 and refused["error"] == "owned_by_source" and "Workday" in refused["message"]
    assert scim.admin("PATCH", f"/admin/users/{admin_made['id']}", {"state": "SUSPENDED"})[0] == 409
    # ... a form sending the same values changes nothing and passes; what the source does not map stays the admins'
    status, body = scim.admin("PATCH", f"/admin/users/{admin_made['id']}", {"firstname": "Franklin", "location": "Berlin",
                                                                               "roles": ["admin"]})
    assert status == 200 and body["location"] == "Berlin" and body["roles"] == ["admin"], body
    gid = scim.admin("POST", "/admin/groups", {"name": "Admins' own"})[1]["id"]
    assert scim.admin("PUT", f"/admin/groups/{gid}/members/{admin_made['id']}")[0] == 204


def test_match_username_never_links_a_user_holding_a_role(scim):
    src = scim.source(match="username")
    _admin_user(scim, "root", roles=["admin"], password="Violet-Harbor-Lantern-42")
    status, body = src("POST", "/Users", user_body("root", email="root2@example.com"))
    assert status == 409 and body["scimType"] == "uniqueness"
    plain = _admin_user(scim, "gwen")
    status, body = src("POST", "/Users", user_body("gwen", email="gwen.new@example.com"))
    assert status == 201 and body["id"] == plain["id"]


def test_a_source_sees_only_its_own(scim):
    one, two = scim.source("One"), scim.source("Two", match="email")
    mine = one.create_user("hana")
    status, _ = two("GET", f"/Users/{mine['id']}")
    assert status == 404
    assert two("GET", "/Users")[1]["totalResults"] == 0
    assert two("GET", "/Users", query={"filter": 'userName eq "hana"'})[1]["totalResults"] == 0
    # another source's user is never linked, even by a match rule
    status, body = two("POST", "/Users", user_body("hana2", email="hana@example.com"))
    assert status == 409 and body["scimType"] == "uniqueness"
    assert two("PATCH", f"/Users/{mine['id']}", {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "title",
                                                                                        "value": "x"}]})[0] == 404
    assert two("DELETE", f"/Users/{mine['id']}")[0] == 404
    gid = one("POST", "/Groups", {"schemas": [SCIM_GROUP], "displayName": "One's"})[1]["id"]
    assert two("GET", f"/Groups/{gid}")[0] == 404
    # an admin group is not a source's either; an admin may not change a source group's members or name
    admin_gid = scim.admin("POST", "/admin/groups", {"name": "Admin group"})[1]["id"]
    assert one("GET", f"/Groups/{admin_gid}")[0] == 404
    status, refused = scim.admin("PUT", f"/admin/groups/{gid}/members/{mine['id']}")
    assert status == 409 and refused["error"] == "owned_by_source" and "One" in refused["message"]
    assert scim.admin("PATCH", f"/admin/groups/{gid}", {"name": "Renamed"})[1]["error"] == "owned_by_source"


def test_tokens_open_only_their_own_door(scim):
    src = scim.source()
    assert src("GET", "/Users", token=ADMIN_TOKEN)[0] == 401
    status, body = src("GET", "/ServiceProviderConfig", token="s-nope.nope")
    assert status == 401 and body["status"] == "401"
    assert scim.admin("GET", "/admin/users", token=src.token)[0] == 401
    # rotation: the old token stops working, the new one works
    old = src.token
    src.token = scim.admin("POST", f"/admin/sources/{src.id}/token")[1]["token"]
    assert src("GET", "/Users", token=old)[0] == 401
    assert src("GET", "/Users")[0] == 200


def test_last_used_at_is_written_at_most_once_a_minute(scim):
    from idp.bootstrap import container

    src = scim.source()
    assert scim.admin("GET", f"/admin/sources/{src.id}")[1]["last_used_at"] is None
    writes = []
    store = container().store
    real = store.touch_source
    store.touch_source = lambda *a, **k: writes.append(a) or real(*a, **k)
    for _ in range(5):
        assert src("GET", "/Users")[0] == 200
    assert len(writes) == 1
    assert scim.admin("GET", f"/admin/sources/{src.id}")[1]["last_used_at"]


def test_delete_suspends_or_deletes_by_on_delete_and_ends_sessions(scim):
    from idp.bootstrap import container

    ended = []

    class Hooks:
        def password_set(self, uid: str) -> None: ...

        def end_sessions(self, uid: str, reason: str) -> None:
            ended.append((uid, reason))

    container().directory.signon = Hooks()
    suspending, deleting = scim.source("HR", on_delete="suspend"), scim.source("Okta", on_delete="delete")
    kept = suspending.create_user("ivan")["id"]
    assert suspending("DELETE", f"/Users/{kept}")[0] == 204
    assert suspending("GET", f"/Users/{kept}")[0] == 404
    assert suspending("GET", "/Users")[1]["totalResults"] == 0
    user = scim.admin("GET", f"/admin/users/{kept}")[1]
    assert user["state"] == "SUSPENDED" and user["source_id"] == suspending.id
    assert (kept, "suspended") in ended
    # the same person sent again (a rehire, an Entra re-assignment) comes back, the same user, not a 409
    status, back = suspending("POST", "/Users", user_body("ivan", title="Returned"))
    assert status == 201 and back["id"] == kept and back["active"] is True, back
    assert scim.admin("GET", f"/admin/users/{kept}")[1]["state"] == "ACTIVE"
    gone = deleting.create_user("jane")["id"]
    assert deleting("DELETE", f"/Users/{gone}")[0] == 204
    assert scim.admin("GET", f"/admin/users/{gone}")[0] == 404


def test_deleting_a_source_stops_its_token_and_keeps_its_users_unowned(scim):
    src = scim.source("Legacy HR")
    uid = src.create_user("kim")["id"]
    gid = src("POST", "/Groups", {"schemas": [SCIM_GROUP], "displayName": "Legacy", "members": [{"value": uid}]})[1]["id"]
    assert scim.admin("DELETE", f"/admin/sources/{src.id}")[0] == 204
    assert src("GET", "/Users")[0] == 401
    user = scim.admin("GET", f"/admin/users/{uid}")[1]
    assert user["username"] == "kim" and "source_id" not in user
    assert scim.admin("PATCH", f"/admin/users/{uid}", {"firstname": "Kimberly"})[0] == 200
    assert scim.admin("DELETE", f"/admin/groups/{gid}/members/{uid}")[0] == 204
