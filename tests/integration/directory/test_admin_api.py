"""The admin API driven with API Gateway v2 events through the Lambda resolver, against moto."""
from __future__ import annotations

import json
import logging

import boto3
import pytest

from idp.bootstrap import container
from idp_testing.lambda_events import LambdaContext, http_event

STRONG = "correct-horse-battery-9"


@pytest.fixture
def api(aws_env):
    from idp.web.admin_routes import router as admin_router
    from idp.web.health_routes import router as health_router
    from idp.web.resolver import lambda_app

    app = lambda_app(admin_router, health_router)

    def call(method, path, body=None, **kw):
        answer = app.resolve(http_event(method, path, body, **kw), LambdaContext())
        text = answer.get("body") or ""
        try:
            payload = json.loads(text) if text else None
        except ValueError:
            payload = text
        return answer["statusCode"], payload

    return call


def drain_events(aws_env) -> list[dict]:
    sqs = boto3.client("sqs")
    bodies = []
    while True:
        got = sqs.receive_message(QueueUrl=aws_env.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0,
                                  AttributeNames=["All"]).get("Messages", [])
        if not got:
            return bodies
        for m in got:
            body = json.loads(m["Body"])
            body["_group"] = m["Attributes"]["MessageGroupId"]
            bodies.append(body)
            sqs.delete_message(QueueUrl=aws_env.queue_url, ReceiptHandle=m["ReceiptHandle"])


def new_user(api, name="ada", **extra):
    status, body = api("POST", "/admin/users", {"username": name, "email": f"{name}@example.com",
                                                 "firstname": name.title(), "lastname": "Lovelace", **extra})
    assert status == 201, body
    return body


ADMIN_ROUTES = [
    ("POST", "/admin/users"), ("GET", "/admin/users"), ("GET", "/admin/users/u-1"), ("PATCH", "/admin/users/u-1"),
    ("DELETE", "/admin/users/u-1"), ("POST", "/admin/groups"), ("GET", "/admin/groups"), ("GET", "/admin/groups/g-1"),
    ("PATCH", "/admin/groups/g-1"), ("DELETE", "/admin/groups/g-1"), ("GET", "/admin/groups/g-1/members"),
    ("PUT", "/admin/groups/g-1/members/u-1"), ("DELETE", "/admin/groups/g-1/members/u-1"),
    ("POST", "/admin/apps"), ("GET", "/admin/apps"), ("GET", "/admin/apps/x"), ("PATCH", "/admin/apps/x"),
    ("DELETE", "/admin/apps/x"), ("PUT", "/admin/apps/x/users/u-1"), ("DELETE", "/admin/apps/x/users/u-1"),
    ("PUT", "/admin/apps/x/groups/g-1"), ("DELETE", "/admin/apps/x/groups/g-1"), ("PUT", "/admin/apps/x/provisioning"),
    ("GET", "/admin/apps/x/keys"), ("POST", "/admin/apps/x/keys"), ("POST", "/admin/apps/x/keys/k-1/activate"),
    ("DELETE", "/admin/apps/x/keys/k-1"),
]


@pytest.mark.parametrize("method,path", ADMIN_ROUTES)
def test_every_admin_route_needs_the_token(api, method, path):
    # Given no token, or a wrong one, When any admin route is called, Then 401 names the problem
    status, body = api(method, path, {}, token=None)
    assert status == 401 and body["error"] == "unauthorized"
    status, body = api(method, path, {}, token="wrong-token")
    assert status == 401 and "not valid" in body["message"]


def test_user_lifecycle_and_events(api, aws_env):
    user = new_user(api, password=STRONG, title="Analyst")
    assert user["id"].startswith("u-") and "password" not in user and "password_hash" not in user
    status, got = api("GET", f"/admin/users/{user['id']}")
    assert status == 200 and got["email"] == "ada@example.com" and got["state"] == "ACTIVE"
    status, patched = api("PATCH", f"/admin/users/{user['id']}", {"title": "Lead", "state": "SUSPENDED"})
    assert status == 200 and patched["title"] == "Lead" and patched["state"] == "SUSPENDED" and patched["version"] == 2
    status, _ = api("DELETE", f"/admin/users/{user['id']}")
    assert status == 204
    assert api("GET", f"/admin/users/{user['id']}")[0] == 404
    events = drain_events(aws_env)
    assert [(e["type"], e["id"]) for e in events] == [
        ("user.created", user["id"]), ("user.updated", user["id"]), ("user.deleted", user["id"])]
    assert [e.get("version") for e in events] == [1, 2, 3]
    assert all(e["_group"] == user["id"] and e["at"].endswith("Z") for e in events)


def test_username_and_email_are_unique_case_insensitively(api):
    new_user(api, "grace")
    status, body = api("POST", "/admin/users", {"username": "GRACE", "email": "other@example.com", "firstname": "G", "lastname": "H"})
    assert status == 409 and "username 'GRACE'" in body["message"]
    status, body = api("POST", "/admin/users", {"username": "other", "email": "Grace@Example.com", "firstname": "G", "lastname": "H"})
    assert status == 409 and "email" in body["message"]
    other = new_user(api, "other")
    status, body = api("PATCH", f"/admin/users/{other['id']}", {"email": "GRACE@example.com"})
    assert status == 409 and "email" in body["message"]


def test_usernames_and_emails_share_one_namespace(api):
    """A string typed at the login page names one account: no username may equal another user's email."""
    grace = new_user(api, "grace")  # email grace@example.com
    status, body = api("POST", "/admin/users", {"username": "Grace@Example.com", "email": "g2@example.com",
                                                "firstname": "G", "lastname": "H"})
    assert status == 409 and "'Grace@Example.com' is already taken" in body["message"], body
    other = new_user(api, "other")
    status, body = api("PATCH", f"/admin/users/{other['id']}", {"username": "GRACE@example.com"})
    assert status == 409 and "one namespace" in body["message"], body
    # an email equal to somebody's username, either way round
    status, body = api("POST", "/admin/users", {"username": "x1", "email": "other@example.com", "firstname": "G", "lastname": "H"})
    assert status == 409
    status, mail_like = api("POST", "/admin/users", {"username": "ann@corp.example", "email": "ann.b@example.com",
                                                     "firstname": "A", "lastname": "B"})
    assert status == 201, mail_like
    status, body = api("PATCH", f"/admin/users/{other['id']}", {"email": "ANN@corp.example"})
    assert status == 409 and "email 'ANN@corp.example'" in body["message"], body
    # one's own username and email may be the same string, and names freed by a change can be taken again
    # by another user once the administrator confirms the reuse (a released name is quarantined: issue 23)
    status, same = api("POST", "/admin/users", {"username": "sam@example.com", "email": "Sam@example.com",
                                                "firstname": "S", "lastname": "M"})
    assert status == 201, same
    assert api("PATCH", f"/admin/users/{grace['id']}", {"email": "grace.h@example.com"})[0] == 200
    status, body = api("PATCH", f"/admin/users/{mail_like['id']}", {"username": "grace@example.com"})
    assert status == 409 and body["error"] == "quarantined", body
    assert api("PATCH", f"/admin/users/{mail_like['id']}", {"username": "grace@example.com", "confirm_reuse": True})[0] == 200
    assert api("DELETE", f"/admin/users/{same['id']}")[0] == 204
    assert api("POST", "/admin/users", {"username": "sam@example.com", "email": "sam2@example.com",
                                        "firstname": "S", "lastname": "M", "confirm_reuse": True})[0] == 201


def _cursor(key: dict) -> str:
    import base64

    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode()


def test_a_forged_or_foreign_cursor_is_a_400_naming_cursor(api):
    for name in ("a1", "a2", "a3"):
        new_user(api, name)
    status, group = api("POST", "/admin/groups", {"name": "Crew"})
    status, page = api("GET", "/admin/users", query={"limit": "1"})
    users_cursor = page["next_cursor"]
    forged = [
        _cursor({"pk": "x"}),  # keys DynamoDB would refuse
        _cursor({"pk": "GROUP#g-1", "sk": "META", "gsi1pk": "GROUPS", "gsi1sk": "g-1"}),  # another listing's
        _cursor({"pk": "USER#u-1", "sk": "PROFILE", "gsi1pk": "USERS", "gsi1sk": 7}),  # not all strings
        _cursor(["USER#u-1"]),
        "e30=",  # {}
    ]
    for cursor in forged:
        status, body = api("GET", "/admin/users", query={"cursor": cursor})
        assert status == 400 and "'cursor'" in body["message"], (cursor, body)
    # a users cursor is not a members cursor, nor a groups cursor
    for path in (f"/admin/groups/{group['id']}/members", "/admin/groups", "/admin/apps"):
        status, body = api("GET", path, query={"cursor": users_cursor})
        assert status == 400 and "'cursor'" in body["message"], (path, body)
    assert api("GET", "/admin/users", query={"cursor": users_cursor})[0] == 200


@pytest.mark.parametrize("raw,code,needle", [
    ("{not json", "invalid_json", "not valid JSON"),
    ("", "invalid_json", "empty"),
    ("[1, 2]", "invalid_body", "JSON object"),
    ('{"username": "x", "email": "x@example.com", "firstname": "X"}', "missing_field", "'lastname'"),
    ('{"username": "x", "email": "x@example.com", "firstname": "X", "lastname": "Y", "shoe": 9}', "unknown_field", "'shoe'"),
    ('{"username": "x", "email": "nope", "firstname": "X", "lastname": "Y"}', "invalid_field", "'email'"),
    ('{"username": "x", "email": "x@example.com", "firstname": "X", "lastname": "Y", "state": "GONE"}', "invalid_field", "'state'"),
    ('{"username": "x", "email": "x@example.com", "firstname": "X", "lastname": "Y", "password": "short"}', "weak_password", "min_length"),
])
def test_bad_user_bodies_get_a_4xx_naming_the_problem(api, raw, code, needle):
    status, body = api("POST", "/admin/users", raw_body=raw)
    assert status == 400 and body["error"] == code and needle in body["message"], body


def test_pagination_walks_every_user_once(api):
    ids = {new_user(api, f"user{i}")["id"] for i in range(5)}
    seen, cursor, pages = [], None, 0
    while True:
        status, page = api("GET", "/admin/users", query={"limit": "2", **({"cursor": cursor} if cursor else {})})
        assert status == 200 and len(page["items"]) <= 2
        seen += [u["id"] for u in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == sorted(ids) and pages >= 3
    assert api("GET", "/admin/users", query={"cursor": "garbage!"})[0] == 400
    for bad in ("abc", "0", "-5", "1e9", "201"):
        status, body = api("GET", "/admin/users", query={"limit": bad})
        assert status == 400 and "'limit'" in body["message"], bad


def test_groups_membership_and_fan_out(api, aws_env):
    app = {"slug": "officespace", "label": "OfficeSpace", "sp_entity_id": "acme.officespacesoftware.com",
           "acs_urls": ["https://acme.officespacesoftware.com/users/sign_in/saml"]}
    assert api("POST", "/admin/apps", app)[0] == 201
    ada, bob = new_user(api, "ada"), new_user(api, "bob")
    status, group = api("POST", "/admin/groups", {"name": "Engineering"})
    assert status == 201 and group["id"].startswith("g-")
    assert api("POST", "/admin/groups", {"name": "engineering"})[0] == 409
    assert api("PUT", f"/admin/groups/{group['id']}/members/{ada['id']}")[0] == 204
    assert api("PUT", f"/admin/apps/officespace/groups/{group['id']}")[0] == 204
    drain_events(aws_env)
    assert api("PUT", f"/admin/groups/{group['id']}/members/{bob['id']}")[0] == 204
    assert api("PUT", f"/admin/groups/{group['id']}/members/{bob['id']}")[0] == 204  # idempotent, no event
    events = drain_events(aws_env)
    assert sorted((e["type"], e["id"], e.get("app")) for e in events) == sorted([
        ("group.members_changed", group["id"], None), ("app.access_changed", bob["id"], "officespace")])
    status, members = api("GET", f"/admin/groups/{group['id']}/members")
    assert status == 200 and {m["id"] for m in members["items"]} == {ada["id"], bob["id"]}
    status, first = api("GET", f"/admin/groups/{group['id']}/members", query={"limit": "1"})
    assert len(first["items"]) == 1 and first["next_cursor"]
    status, second = api("GET", f"/admin/groups/{group['id']}/members", query={"limit": "1", "cursor": first["next_cursor"]})
    assert {first["items"][0]["id"], second["items"][0]["id"]} == {ada["id"], bob["id"]}
    status, renamed = api("PATCH", f"/admin/groups/{group['id']}", {"name": "Platform"})
    assert status == 200 and renamed["name"] == "Platform"
    assert api("PATCH", f"/admin/groups/{group['id']}", {"colour": "red"})[1]["error"] == "unknown_field"
    assert api("DELETE", f"/admin/apps/officespace/groups/{group['id']}")[0] == 204
    events = drain_events(aws_env)
    assert ("group.updated", group["id"]) in [(e["type"], e["id"]) for e in events]
    access = {e["id"] for e in events if e["type"] == "app.access_changed"}
    assert access == {group["id"], ada["id"], bob["id"]}
    assert api("DELETE", f"/admin/groups/{group['id']}")[0] == 204
    assert [e["type"] for e in drain_events(aws_env)] == ["group.deleted"]
    assert api("PUT", f"/admin/groups/{group['id']}/members/{ada['id']}")[0] == 404


def test_direct_binding_events_and_unknown_ids(api, aws_env):
    app = {"slug": "acme", "label": "Acme", "template": "custom", "sp_entity_id": "urn:acme", "acs_urls": ["https://acme.example/acs"]}
    assert api("POST", "/admin/apps", app)[0] == 201
    ada = new_user(api, "ada")
    drain_events(aws_env)
    assert api("PUT", f"/admin/apps/acme/users/{ada['id']}")[0] == 204
    assert api("DELETE", f"/admin/apps/acme/users/{ada['id']}")[0] == 204
    events = drain_events(aws_env)
    assert [(e["type"], e["id"], e["app"]) for e in events] == [("app.access_changed", ada["id"], "acme")] * 2
    assert api("PUT", "/admin/apps/acme/users/u-missing")[0] == 404
    assert api("PUT", "/admin/apps/nope/users/" + ada["id"])[0] == 404


def test_app_creation_keys_and_slug_is_fixed(api, aws_env):
    body = {"slug": "officespace", "label": "OfficeSpace", "sp_entity_id": "acme.officespacesoftware.com",
            "acs_urls": ["https://acme.officespacesoftware.com/users/sign_in/saml"]}
    status, app = api("POST", "/admin/apps", body)
    assert status == 201
    assert app["slug"] == "officespace" and app["sso_url"] == "https://idp.example.com/saml2/officespace"
    assert app["metadata_url"].endswith("/saml2/officespace/metadata")
    assert app["certificate_url"].endswith("/saml2/officespace/certificate.pem")
    assert app["idp_entity_id"] and len(app["certificate_fingerprint_sha256"].split(":")) == 32
    assert app["nameid"] == "email" and app["sign"] == "both"
    assert app["attributes"] == {"email": "email", "name": "name", "first_name": "firstname", "last_name": "lastname"}
    assert api("POST", "/admin/apps", body)[0] == 409
    status, err = api("PATCH", "/admin/apps/officespace", {"slug": "renamed"})
    assert status == 409 and "slug" in err["message"]
    status, patched = api("PATCH", "/admin/apps/officespace", {"label": "OfficeSpace HQ", "default_relay_state": "/home"})
    assert status == 200 and patched["label"] == "OfficeSpace HQ"
    assert api("PATCH", "/admin/apps/officespace", {"default_relay_state": "x" * 81})[0] == 400
    assert api("POST", "/admin/apps", {**body, "slug": "Bad Slug"})[1]["error"] == "invalid_field"
    assert api("POST", "/admin/apps", {**body, "slug": "two", "acs_urls": ["ftp://x"]})[1]["error"] == "invalid_field"
    assert api("POST", "/admin/apps", {**body, "slug": "three", "sp_certificate": "junk"})[0] == 400
    # The private key is a secret: not in the API answer, not in any table item; it is an SSM SecureString.
    assert "PRIVATE KEY" not in json.dumps(app)
    items = boto3.client("dynamodb").scan(TableName=aws_env.table_name)["Items"]
    assert "PRIVATE KEY" not in json.dumps(items)
    params = boto3.client("ssm").get_parameters_by_path(Path="/test/apps/officespace", Recursive=True)["Parameters"]
    assert params and all(p["Type"] == "SecureString" for p in params)
    assert api("DELETE", "/admin/apps/officespace")[0] == 204
    assert boto3.client("ssm").get_parameters_by_path(Path="/test/apps/officespace", Recursive=True)["Parameters"] == []
    assert api("GET", "/admin/apps/officespace")[0] == 404


def test_key_rotation_admin_flow(api):
    body = {"slug": "os", "label": "OS", "sp_entity_id": "os.example", "acs_urls": ["https://os.example/acs"]}
    first = api("POST", "/admin/apps", body)[1]
    current = first["signing_keys"][0]
    assert current["status"] == "active" and "certificate_pem" not in current
    status, app = api("POST", "/admin/apps/os/keys")
    assert status == 201 and [k["status"] for k in app["signing_keys"]] == ["active", "next"]
    assert api("POST", "/admin/apps/os/keys")[0] == 409
    nxt = app["signing_keys"][1]
    assert api("DELETE", f"/admin/apps/os/keys/{current['kid']}")[0] == 409  # the active key cannot be retired
    status, app = api("POST", f"/admin/apps/os/keys/{nxt['kid']}/activate")
    assert status == 200 and app["certificate_fingerprint_sha256"] == nxt["fingerprint_sha256"]
    status, app = api("DELETE", f"/admin/apps/os/keys/{current['kid']}")
    assert status == 200 and [k["status"] for k in app["signing_keys"]] == ["retired", "active"]
    assert api("POST", f"/admin/apps/os/keys/{current['kid']}/activate")[0] == 409


def test_provisioning_token_is_write_only(api, aws_env, caplog):
    caplog.set_level(logging.DEBUG)
    body = {"slug": "os", "label": "OS", "sp_entity_id": "os.example", "acs_urls": ["https://os.example/acs"]}
    api("POST", "/admin/apps", body)
    drain_events(aws_env)
    token = "scim-secret-token-abcdef123456"
    assert api("PUT", "/admin/apps/os/provisioning", {"base_url": "https://os.example/scim/v2", "enabled": True, "group_management": True})[1]["error"] == "missing_field"
    status, app = api("PUT", "/admin/apps/os/provisioning", {"base_url": "https://os.example/scim/v2", "token": token,
                                                             "enabled": True, "group_management": True})
    assert status == 200 and app["provisioning"]["token_set"] is True and token not in json.dumps(app)
    assert token not in json.dumps(api("GET", "/admin/apps/os")[1])
    assert token not in json.dumps(boto3.client("dynamodb").scan(TableName=aws_env.table_name)["Items"])
    assert [e["type"] for e in drain_events(aws_env)] == ["app.sync"]
    # A later PUT may leave the token out: the stored one stays.
    status, app = api("PUT", "/admin/apps/os/provisioning", {"base_url": "https://os.example/scim/v2", "enabled": False, "group_management": False})
    assert status == 200 and app["provisioning"]["enabled"] is False

    assert container().apps.scim_token("os") == token
    assert token not in caplog.text


def test_no_secret_reaches_a_log_line(api, caplog):
    caplog.set_level(logging.DEBUG)
    user = new_user(api, "sec", password=STRONG)
    api("PATCH", f"/admin/users/{user['id']}", {"password": "another-Secret-42"})
    api("POST", "/admin/apps", {"slug": "os", "label": "OS", "sp_entity_id": "os.example", "acs_urls": ["https://os.example/acs"]})
    api("GET", "/admin/users", token="wrong-token-value")
    for secret in (STRONG, "another-Secret-42", "PRIVATE KEY", "wrong-token-value", "test-admin-token"):
        assert secret not in caplog.text


def test_unknown_route_is_a_json_404(api):
    status, body = api("GET", "/admin/nothing-here")
    assert status in (401, 404)
    status, body = api("GET", "/nothing")
    assert status == 404 and body["error"] == "not_found"


def test_each_kind_of_change_puts_its_event_on_the_queue(api, aws_env):
    """One row per kind: the admin call, then exactly the events it must publish."""
    assert api("POST", "/admin/apps", {"slug": "os", "label": "OS", "sp_entity_id": "os.example",
                                       "acs_urls": ["https://os.example/acs"]})[0] == 201
    drain_events(aws_env)
    ada = new_user(api, "ada")
    assert [(e["type"], e["id"]) for e in drain_events(aws_env)] == [("user.created", ada["id"])]
    api("PATCH", f"/admin/users/{ada['id']}", {"department": "R&D"})
    assert [(e["type"], e["id"]) for e in drain_events(aws_env)] == [("user.updated", ada["id"])]
    group = api("POST", "/admin/groups", {"name": "Eng"})[1]
    assert [(e["type"], e["id"]) for e in drain_events(aws_env)] == [("group.created", group["id"])]
    api("PATCH", f"/admin/groups/{group['id']}", {"description": "engineers"})
    assert [(e["type"], e["id"]) for e in drain_events(aws_env)] == [("group.updated", group["id"])]
    api("PUT", f"/admin/groups/{group['id']}/members/{ada['id']}")
    assert [(e["type"], e["id"]) for e in drain_events(aws_env)] == [("group.members_changed", group["id"])]
    api("PUT", f"/admin/apps/os/groups/{group['id']}")
    assert sorted((e["type"], e["id"], e["app"]) for e in drain_events(aws_env)) == sorted([
        ("app.access_changed", group["id"], "os"), ("app.access_changed", ada["id"], "os")])
    api("DELETE", f"/admin/groups/{group['id']}/members/{ada['id']}")
    assert sorted((e["type"], e["id"]) for e in drain_events(aws_env)) == sorted([
        ("group.members_changed", group["id"]), ("app.access_changed", ada["id"])])
    api("PUT", f"/admin/groups/{group['id']}/members/{ada['id']}")
    drain_events(aws_env)
    api("DELETE", f"/admin/groups/{group['id']}")
    assert sorted((e["type"], e["id"]) for e in drain_events(aws_env)) == sorted([
        ("group.deleted", group["id"]), ("app.access_changed", ada["id"])])
    api("PATCH", "/admin/apps/os", {"attributes": {"email": "email"}})
    assert [(e["type"], e["id"], e["app"]) for e in drain_events(aws_env)] == [("app.sync", "os", "os")]
    api("DELETE", f"/admin/users/{ada['id']}")
    assert [(e["type"], e["id"]) for e in drain_events(aws_env)] == [("user.deleted", ada["id"])]


JUNK_BODIES = ["", "{", "null", "[]", '"text"', "{\"a\": 1}", '{"name": 5, "username": [], "slug": {}}', "\udcff" * 3,
               json.dumps({"x" * 300: "y" * 5000})]


def test_no_admin_route_answers_junk_with_a_5xx(api):
    """Bad input of every kind gets a 4xx that names the problem, never a 5xx."""
    api("POST", "/admin/apps", {"slug": "x", "label": "X", "sp_entity_id": "x.example", "acs_urls": ["https://x.example/acs"]})
    for method, path in ADMIN_ROUTES:
        for raw in JUNK_BODIES:
            for query in (None, {"limit": "zz", "cursor": "%%%"}):
                status, body = api(method, path, raw_body=raw.encode("utf-8", "surrogateescape").decode("utf-8", "replace"), query=query)
                assert status < 500, (method, path, raw[:30], query, body)
                if status >= 400:
                    assert body["error"] and body["message"], (method, path, body)


def _os_app(api):
    body = {"slug": "os", "label": "OS", "sp_entity_id": "os.example", "acs_urls": ["https://os.example/acs"]}
    assert api("POST", "/admin/apps", body)[0] == 201


@pytest.fixture
def in_aws(monkeypatch):
    """The deployed product: no local targets (the template never sets IDP_ALLOW_LOCAL_TARGETS)."""
    from idp import bootstrap

    monkeypatch.delenv("IDP_ALLOW_LOCAL_TARGETS", raising=False)
    bootstrap.reset()
    yield
    bootstrap.reset()


@pytest.mark.parametrize("base_url, needle", [
    ("http://os.example/scim/v2", "https"),
    ("https://169.254.169.254/latest/meta-data", "link-local"),
    ("https://127.0.0.1:8443/scim", "loopback"),
    ("http://127.0.0.1:8443/scim", "https"),
    ("https://localhost/scim", "loopback"),
    ("https://10.20.30.40/scim", "private"),
    ("https://[fd00::5]/scim", "private"),
])
def test_the_scim_base_url_cannot_point_inside(api, in_aws, base_url, needle):
    _os_app(api)
    status, body = api("PUT", "/admin/apps/os/provisioning", {"base_url": base_url, "token": "t", "enabled": True})
    assert status == 400 and "base_url" in body["message"] and needle in body["message"], body


def test_acs_and_slo_urls_must_be_https_in_aws(api, in_aws):
    body = {"slug": "os", "label": "OS", "sp_entity_id": "os.example", "acs_urls": ["http://os.example/acs"]}
    status, err = api("POST", "/admin/apps", body)
    assert status == 400 and "acs_urls" in err["message"] and "https" in err["message"], err
    _os_app(api)
    status, err = api("PATCH", "/admin/apps/os", {"sp_slo_url": "http://127.0.0.1/slo"})
    assert status == 400 and "sp_slo_url" in err["message"], err
    assert api("PATCH", "/admin/apps/os", {"sp_slo_url": "https://os.example/slo"})[0] == 200


def test_the_local_stack_may_use_plain_http_to_loopback(api):
    _os_app(api)
    status, app = api("PUT", "/admin/apps/os/provisioning", {"base_url": "http://127.0.0.1:3001/scim/v2", "token": "t",
                                                             "enabled": False})
    assert status == 200, app
    status, err = api("PUT", "/admin/apps/os/provisioning", {"base_url": "http://os.example/scim/v2", "token": "t"})
    assert status == 400 and "https" in err["message"]


def test_the_scim_token_does_not_follow_the_base_url_to_another_origin(api):
    _os_app(api)
    assert api("PUT", "/admin/apps/os/provisioning", {"base_url": "https://os.example/api/scim/v2", "token": "t-1",
                                                      "enabled": False})[0] == 200
    # same origin, another path: the stored token stays usable
    assert api("PUT", "/admin/apps/os/provisioning", {"base_url": "https://os.example:443/scim/v2", "enabled": False})[0] == 200
    for moved in ("https://attacker.example/scim/v2", "https://os.example:8443/scim/v2", "http://127.0.0.1/scim/v2"):
        status, err = api("PUT", "/admin/apps/os/provisioning", {"base_url": moved, "enabled": False})
        assert status == 400 and "'token'" in err["message"], (moved, err)
    assert api("GET", "/admin/apps/os")[1]["provisioning"]["base_url"] == "https://os.example:443/scim/v2"
    state = container().provisioning_state.mappings
    state.save_pushed("os", "USER", "u-1", scim_id="old-server-id", status="synced", pushed_hash="h")
    # a path change keeps what the SP knows; a move to another server forgets the old server's ids
    assert api("PUT", "/admin/apps/os/provisioning", {"base_url": "https://os.example/api/scim/v2", "enabled": False})[0] == 200
    assert state.get_map("os", "USER", "u-1")["scim_id"] == "old-server-id"
    status, app = api("PUT", "/admin/apps/os/provisioning", {"base_url": "https://new.example/scim/v2", "token": "t-2",
                                                             "enabled": False})
    assert status == 200 and container().apps.scim_token("os") == "t-2"
    assert state.get_map("os", "USER", "u-1") is None


def test_a_rotated_admin_token_takes_over_without_a_restart(aws_env, monkeypatch):
    """The token lives in Secrets Manager; a warm function reads it again after ADMIN_TOKEN_CACHE_SECONDS
    (here 0), so a rotation locks the old token out without redeploying."""
    from idp import bootstrap
    from idp.web.admin_routes import router as admin_router
    from idp.web.resolver import lambda_app

    monkeypatch.delenv("ADMIN_TOKEN")
    monkeypatch.setenv("ADMIN_TOKEN_SECRET_ARN", aws_env.admin_token_secret_arn)
    monkeypatch.setenv("ADMIN_TOKEN_CACHE_SECONDS", "0")
    bootstrap.reset()
    app = lambda_app(admin_router)

    def status(token):
        return app.resolve(http_event("GET", "/admin/users", token=token), LambdaContext())["statusCode"]

    old = aws_env.admin_token if hasattr(aws_env, "admin_token") else "test-admin-token-9f8e7d6c5b4a"
    assert status(old) == 200
    boto3.client("secretsmanager").put_secret_value(SecretId=aws_env.admin_token_secret_arn, SecretString="rotated-token-7f6e5d4c3b2a")
    assert status(old) == 401
    assert status("rotated-token-7f6e5d4c3b2a") == 200
    bootstrap.reset()


def test_sessions_revoke_route_and_the_changes_that_end_every_session(api, aws_env):
    """POST /admin/users/{id}/sessions/revoke (204; 404 for an unknown user), a password change, a
    suspension and an MFA reset end every IdP session of the user; other changes leave them alone."""
    user = new_user(api, password=STRONG)
    signon, state = container().signon, container().signon_state

    def sessions(n=2):
        return [state.create_session(user["id"])[0] for _ in range(n)]

    live = sessions()
    assert api("POST", f"/admin/users/{user['id']}/sessions/revoke") == (204, None)
    assert [signon.signed_in(sid) for sid in live] == [None, None]
    status, body = api("POST", "/admin/users/no-such-user/sessions/revoke")
    assert status == 404 and body["error"] == "not_found"

    for change in ({"password": "an0ther-Correct-horse"}, {"state": "SUSPENDED"}):
        live = sessions()
        assert api("PATCH", f"/admin/users/{user['id']}", change)[0] == 200
        assert [signon.signed_in(sid) for sid in live] == [None, None], change
    assert api("PATCH", f"/admin/users/{user['id']}", {"state": "ACTIVE"})[0] == 200

    live = sessions()
    assert api("PATCH", f"/admin/users/{user['id']}", {"title": "Engineer"})[0] == 200
    assert all(signon.signed_in(sid) for sid in live)
    container().directory.reset_mfa(user["id"])  # the hook the MFA routes call
    assert [signon.signed_in(sid) for sid in live] == [None, None]
