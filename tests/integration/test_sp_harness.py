"""The test SP's cheap read (`ScimServer.stored`, which the convergence checks poll ten times a second)
answers what scim2-server answers over HTTP (`ScimServer.list`)."""
from __future__ import annotations

from idp_testing.scim_server import ScimServer


def _by_id(items: list[dict]) -> dict[str, dict]:
    out = {}
    for item in items:
        item = dict(item)
        item.pop("meta", None)  # location and the like are built per request
        if item.get("members"):
            item["members"] = sorted(({"value": m["value"], "display": m.get("display")} for m in item["members"]),
                                     key=lambda m: m["value"])
        out[item["id"]] = item
    return out


def test_the_stored_read_is_what_the_server_answers():
    server = ScimServer(token="t")
    try:
        users = [server.create("Users", {"userName": f"u{i}@example.com", "externalId": f"ext-{i}", "title": "T",
                                         "name": {"givenName": "G", "familyName": f"F{i}"}, "active": i % 2 == 0,
                                         "password": "not-to-be-returned-1"})
                 for i in range(130)]  # past one HTTP page of list()
        server.create("Groups", {"displayName": "g1", "externalId": "eg1",
                                 "members": [{"value": u["id"]} for u in users[:25]]})
        server.create("Groups", {"displayName": "g2"})
        for resource in ("Users", "Groups"):
            stored, listed = _by_id(server.stored(resource)), _by_id(server.list(resource))
            assert stored.keys() == listed.keys() and len(stored) == (130 if resource == "Users" else 2)
            for sid, item in listed.items():
                assert {k: v for k, v in stored[sid].items() if k in item} == item
                assert "password" not in stored[sid]
    finally:
        server.close()
