"""The provisioning admin routes through the lead's resolver, store and secrets (moto resources from
template.yaml via the root `aws_env` fixture), against scim2-server on loopback."""
import json

import pytest

from idp_testing.lambda_events import LambdaContext, http_event

ADMIN = "test-admin-token-9f8e7d6c5b4a"


@pytest.fixture
def api(aws_env):
    from idp import bootstrap
    from idp.web.admin_routes import router as admin_router
    from idp.web.provisioning_routes import router as prov_router
    from idp.web.resolver import lambda_app

    bootstrap.reset()
    app = lambda_app(admin_router, prov_router)

    def call(method, path, body=None, token=ADMIN, query=None):
        answer = app.resolve(http_event(method, path, body, token, query), LambdaContext())
        payload = json.loads(answer["body"]) if answer.get("body") else None
        return answer["statusCode"], payload

    yield call
    bootstrap.reset()


def test_provisioning_routes_end_to_end(api, scim):
    status, user = api("POST", "/admin/users", {"username": "ann", "email": "ann@example.com", "firstname": "Ann",
                                                "lastname": "Lee", "title": "Eng"})
    assert status == 201, user
    status, app = api("POST", "/admin/apps", {"slug": "office", "label": "OfficeSpace",
                                              "sp_entity_id": "acme.officespacesoftware.com",
                                              "acs_urls": ["https://acme.officespacesoftware.com/users/auth/saml/callback"]})
    assert status == 201, app
    assert api("PUT", f"/admin/apps/office/users/{user['id']}")[0] == 204

    # not configured yet
    status, body = api("POST", "/admin/apps/office/provisioning/test")
    assert status == 409 and "PUT /admin/apps/office/provisioning" in body["message"]

    status, body = api("PUT", "/admin/apps/office/provisioning", {"base_url": scim.base_url, "token": "secret",
                                                                  "enabled": True, "group_management": True})
    assert status == 200, body
    assert "secret" not in json.dumps(body)

    status, body = api("POST", "/admin/apps/office/provisioning/test")
    assert status == 200 and body["ok"] is True, body

    status, body = api("POST", f"/admin/apps/office/provisioning/users/{user['id']}/sync")
    assert status == 200 and body["ok"] is True and body["outcome"] == "created", body
    assert scim.user_by_name("ann@example.com")["title"] == "Eng"

    status, body = api("GET", "/admin/apps/office/provisioning/log", query={"user_id": user["id"]})
    assert status == 200 and body["items"][0]["action"] == "create" and body["items"][0]["outcome"] == "success"
    assert "next_cursor" in body
    status, body = api("GET", "/admin/apps/office/provisioning/log", query={"limit": "1"})
    assert status == 200 and len(body["items"]) == 1

    status, body = api("GET", "/admin/apps/office/provisioning/status")
    assert status == 200, body
    assert body["state"] == "ok" and body["in_sync"] == 1 and body["pending"] == 0 and body["failed"] == 0

    status, body = api("POST", "/admin/apps/office/provisioning/sync", {"confirm": False})
    assert status == 200 and body["result"] == "reconciled", body
    assert body["users"] == {"no_change": 1}

    # errors
    assert api("GET", "/admin/apps/office/provisioning/status", token=None)[0] == 401
    status, body = api("POST", "/admin/apps/office/provisioning/sync", {"bogus": 1})
    assert status == 400 and body["error"] == "unknown_field" and "bogus" in body["message"]
    assert api("GET", "/admin/apps/nope/provisioning/status")[0] == 404
    assert api("POST", "/admin/apps/office/provisioning/users/u-missing/sync")[0] == 404
    assert api("GET", "/admin/apps/office/provisioning/log", query={"limit": "x"})[0] == 400

    # a wrong token: test connection says so, status shows it after a push fails
    status, body = api("PUT", "/admin/apps/office/provisioning", {"base_url": scim.base_url, "token": "wrong",
                                                                  "enabled": True, "group_management": True})
    assert status == 200, body
    status, body = api("POST", "/admin/apps/office/provisioning/test")
    assert body["ok"] is False and "401" in body["detail"]
    status, body = api("POST", f"/admin/apps/office/provisioning/users/{user['id']}/sync")
    assert body["ok"] is False and body["outcome"] == "auth_failed"
    status, body = api("GET", "/admin/apps/office/provisioning/status")
    assert body["state"] == "auth_failed" and "refused the SCIM credentials" in body["reason"]


def test_admin_changes_reach_the_sp_through_the_queue(api, scim, aws_env, monkeypatch):
    """The real path: admin API → outbox/queue → the scim_push handler's consumer → SCIM."""
    import boto3

    from idp import bootstrap
    from idp_testing.aws import drain, receive_all

    monkeypatch.setenv("SCIM_BACKOFF_BASE_SECONDS", "0.5")
    bootstrap.reset()

    def push(event, context):
        return bootstrap.container().consumer.handle_batch(event, context)
    sqs = boto3.client("sqs", region_name="us-east-1")
    arn = sqs.get_queue_attributes(QueueUrl=aws_env.queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]

    status, app = api("POST", "/admin/apps", {"slug": "office", "label": "OfficeSpace",
                                              "sp_entity_id": "acme.officespacesoftware.com",
                                              "acs_urls": ["https://acme.officespacesoftware.com/acs"]})
    assert status == 201, app
    api("PUT", "/admin/apps/office/provisioning", {"base_url": scim.base_url, "token": "secret", "enabled": True,
                                                   "group_management": True})
    uids = []
    for name in ("bob", "cat", "dan"):
        status, user = api("POST", "/admin/users", {"username": name, "email": f"{name}@example.com",
                                                    "firstname": name.title(), "lastname": "X"})
        uids.append(user["id"])
    status, group = api("POST", "/admin/groups", {"name": "Staff"})
    for uid in uids[:2]:
        api("PUT", f"/admin/groups/{group['id']}/members/{uid}")
    api("PUT", f"/admin/apps/office/groups/{group['id']}")
    api("PUT", f"/admin/apps/office/users/{uids[2]}")
    drain(sqs, aws_env.queue_url, arn, push, timeout=60)
    assert sorted(u["userName"] for u in scim.list("Users")) == ["bob@example.com", "cat@example.com", "dan@example.com"]
    staff = scim.group_by_name("Staff")
    assert staff is not None and len(staff["members"]) == 2

    api("PATCH", f"/admin/users/{uids[0]}", {"title": "Boss"})
    api("DELETE", f"/admin/apps/office/users/{uids[2]}")
    drain(sqs, aws_env.queue_url, arn, push, timeout=60)
    assert scim.user_by_name("bob@example.com")["title"] == "Boss"
    assert scim.user_by_name("dan@example.com")["active"] is False
    assert receive_all(sqs, aws_env.dlq_url) == []


def test_full_activation_test_against_scim2_server(api, scim):
    """POST .../provisioning/test {"full": true, "test_email"}: create, update, deactivate, delete a test
    user in a real SCIM server, each step reported; plain test still only authenticates and lists."""
    assert api("POST", "/admin/apps", {"slug": "office", "label": "OfficeSpace", "sp_entity_id": "acme.officespacesoftware.com",
                                       "acs_urls": ["https://acme.officespacesoftware.com/acs"]})[0] == 201
    assert api("PUT", "/admin/apps/office/provisioning", {"base_url": scim.base_url, "token": "secret", "enabled": False})[0] == 200
    status, body = api("POST", "/admin/apps/office/provisioning/test", {"full": True})
    assert status == 400 and "'test_email'" in body["message"]
    status, body = api("POST", "/admin/apps/office/provisioning/test", {"full": True, "test_email": "idp-test@acme.example"})
    assert status == 200 and body["ok"] is True, body
    assert [s["step"] for s in body["steps"]] == ["connect", "create", "update", "deactivate", "delete"]
    assert all(s["ok"] for s in body["steps"])
    assert scim.user_by_name("idp-test@acme.example") is None
    before = len(scim.requests)
    status, body = api("POST", "/admin/apps/office/provisioning/test")
    assert status == 200 and body["ok"] and "steps" not in body
    assert [r[0] for r in scim.requests[before:]] == ["GET"]


def test_status_counts_what_the_sp_was_given_against_what_the_directory_wants(api, scim):
    """Contract section 4: a group whose pushed members lack one the directory has is `pending`, never
    `in_sync`, however the last call ended; so is a user changed since its last push, and a bound user
    never pushed. (On main 3511b39 the status counted the mapping items' last outcome: `in_sync: 3`.)"""
    from idp import bootstrap

    ids = []
    for name in ("ann", "bob"):
        status, user = api("POST", "/admin/users", {"username": name, "email": f"{name}@example.com",
                                                    "firstname": name.title(), "lastname": "Lee"})
        ids.append(user["id"])
    status, group = api("POST", "/admin/groups", {"name": "Engineering"})
    for uid in ids:
        assert api("PUT", f"/admin/groups/{group['id']}/members/{uid}")[0] == 204
    assert api("POST", "/admin/apps", {"slug": "office", "label": "OfficeSpace", "sp_entity_id": "acme.example.com",
                                       "acs_urls": ["https://acme.example.com/acs"]})[0] == 201
    assert api("PUT", "/admin/apps/office/provisioning", {"base_url": scim.base_url, "token": "secret",
                                                          "enabled": True, "group_management": True})[0] == 200
    assert api("PUT", f"/admin/apps/office/groups/{group['id']}")[0] == 204
    status, body = api("GET", "/admin/apps/office/provisioning/status")
    assert (body["in_sync"], body["pending"]) == (0, 2), body  # bound, not yet pushed (no consumer runs here)
    assert {d["id"] for d in body["drift"]} == set(ids)

    status, body = api("POST", "/admin/apps/office/provisioning/sync", {"confirm": False})
    assert status == 200 and body["result"] == "reconciled", body
    status, body = api("GET", "/admin/apps/office/provisioning/status")
    assert (body["in_sync"], body["pending"], body["failed"]) == (3, 0, 0), body

    # The SP's record of the group loses a member (as a lost membership left it): pending, and it says why.
    state = bootstrap.container().provisioning_state.mappings
    state.update_members("office", group["id"], remove={ids[1]})
    status, body = api("GET", "/admin/apps/office/provisioning/status")
    assert body["groups"] == {"in_sync": 0, "pending": 1, "failed": 0}, body
    assert body["drift"] == [{"kind": "group", "id": group["id"], "reason": "1 member(s) not yet added"}]

    # A directory change not yet pushed: the user is pending until a push gives the SP the new title.
    assert api("PATCH", f"/admin/users/{ids[0]}", {"title": "CTO"})[0] == 200
    status, body = api("GET", "/admin/apps/office/provisioning/status")
    assert body["users"] == {"in_sync": 1, "pending": 1, "failed": 0}, body
    assert any(d["id"] == ids[0] and "title" in d["reason"] for d in body["drift"]), body["drift"]
    assert api("POST", f"/admin/apps/office/provisioning/users/{ids[0]}/sync")[0] == 200
    status, body = api("GET", "/admin/apps/office/provisioning/status")
    assert body["users"] == {"in_sync": 2, "pending": 0, "failed": 0}, body
