"""Each Lambda handler, loaded from functions/<name>/app.py as Lambda loads it, fed the sample events."""
from __future__ import annotations

import json

import pytest

from idp_local.stack import repo_root
from idp_testing.lambda_client import load
from idp_testing.lambda_events import LambdaContext, http_event


def sample(name: str) -> dict:
    return json.loads((repo_root() / "events" / name).read_text())


def test_admin_api_handler_serves_routes_and_health(aws_env):
    handler = load("admin_api")
    assert handler(http_event("GET", "/healthz", token=None), LambdaContext())["statusCode"] == 200
    assert handler(http_event("GET", "/admin/users", token=None), LambdaContext())["statusCode"] == 401
    answer = handler(http_event("POST", "/admin/users", {"username": "h", "email": "h@example.com",
                                                        "firstname": "H", "lastname": "I"}), LambdaContext())
    assert answer["statusCode"] == 201 and json.loads(answer["body"])["id"].startswith("u-")


def _officespace_app():
    from idp.bootstrap import container

    return container().apps.create({"slug": "officespace", "label": "OfficeSpace", "sp_entity_id": "acme.officespacesoftware.com",
                                    "acs_urls": ["https://acme.officespacesoftware.com/users/sign_in/saml"]})


def test_saml_metadata_handler_serves_the_sample_event(aws_env):
    handler = load("saml_metadata")
    missing = handler(sample("http_saml_metadata.json"), LambdaContext())
    assert missing["statusCode"] == 404 and "unknown_app" in missing["body"]
    _officespace_app()
    answer = handler(sample("http_saml_metadata.json"), LambdaContext())
    assert answer["statusCode"] == 200 and answer["headers"]["Content-Type"] == "application/samlmetadata+xml"
    # no PUBLIC_BASE_URL here: the URLs follow the execute-api host of the sample
    assert 'entityID="https://abc123defg.execute-api.us-east-1.amazonaws.com/saml2/officespace"' in answer["body"]


def test_saml_login_handler_serves_the_login_page_and_sso(aws_env):
    handler = load("saml_login")
    page = handler(sample("http_saml_login.json"), LambdaContext())
    assert page["statusCode"] == 200 and 'name="csrf"' in page["body"]
    assert any(c.startswith("__Host-idp_browser=") for c in page["cookies"])
    _officespace_app()
    sso = handler(http_event("GET", "/saml2/officespace", token=None), LambdaContext())
    assert sso["statusCode"] == 302 and sso["headers"]["Location"].startswith("/login?state=")
    unknown = handler(http_event("GET", "/saml2/nope", token=None), LambdaContext())
    assert unknown["statusCode"] == 404 and "unknown_app" in unknown["body"]


def test_scim_server_handler_serves_a_source_and_no_one_else(aws_env):
    # Given a source, When its SCIM client sends the sample (a userName filter), Then a SCIM list comes back;
    # the admin token and no token get a SCIM 401
    handler = load("scim_server")
    admin = load("admin_api")
    created = json.loads(admin(http_event("POST", "/admin/sources", {"name": "Entra"}), LambdaContext())["body"])
    event = sample("http_scim_server.json")
    for token in (None, "test-admin-token-9f8e7d6c5b4a"):
        refused = handler({**event, "headers": {**event["headers"], **({"authorization": f"Bearer {token}"} if token else {})}},
                          LambdaContext())
        assert refused["statusCode"] == 401 and json.loads(refused["body"])["status"] == "401"
    answer = handler({**event, "headers": {**event["headers"], "authorization": f"Bearer {created['token']}"}}, LambdaContext())
    assert answer["statusCode"] == 200 and answer["headers"]["Content-Type"] == "application/scim+json"
    assert json.loads(answer["body"])["totalResults"] == 0


def test_scim_push_handler_takes_the_sample_batch(aws_env):
    # The sample names users and groups that do not exist and no app: nothing to push, nothing failed.
    answer = load("scim_push")(sample("sqs_batch.json"), LambdaContext())
    assert answer == {"batchItemFailures": []}


def test_reconcile_handler_relays_the_outbox_and_reconciles(aws_env):
    handler = load("reconcile")
    assert handler({**sample("reconcile_schedule.json"), "detail": {"job": "outbox"}}, LambdaContext()) == {"relayed": 0}
    answer = handler(sample("reconcile_schedule.json"), LambdaContext())
    assert answer["relayed"] == 0 and "reconcile" in answer


@pytest.mark.parametrize("kind", ["user.created", "user.updated", "user.deleted", "group.created", "group.updated",
                                  "group.deleted", "group.members_changed", "app.access_changed", "app.sync"])
def test_every_sample_event_kind_is_accepted(aws_env, kind):
    body = sample(f"directory/{kind}.json")
    record = {"messageId": "m1", "receiptHandle": "r1", "body": json.dumps(body),
              "attributes": {"ApproximateReceiveCount": "1", "MessageGroupId": body["id"]},
              "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs",
              "eventSourceARN": aws_env.queue_arn, "awsRegion": "us-east-1"}
    assert load("scim_push")({"Records": [record]}, LambdaContext()) == {"batchItemFailures": []}


@pytest.mark.parametrize("custom_domain, expected", [("", "https://idp.example.com"), ("sso.acme.example", "https://sso.acme.example")])
def test_metadata_urls_ignore_forwarded_headers(aws_env, monkeypatch, custom_domain, expected):
    """With PUBLIC_BASE_URL empty, the entity ID is the custom domain's, else API Gateway's own
    domain name: a client's Host / X-Forwarded-* headers never choose it (cached metadata included)."""
    from idp import bootstrap

    monkeypatch.setenv("CUSTOM_DOMAIN", custom_domain)
    bootstrap.reset()
    handler = load("saml_metadata")
    _officespace_app()
    event = http_event("GET", "/saml2/officespace/metadata", token=None,
                       headers={"host": "evil.example", "x-forwarded-host": "evil.example", "x-forwarded-proto": "http"})
    answer = handler(event, LambdaContext())
    assert answer["statusCode"] == 200
    assert f'entityID="{expected}/saml2/officespace"' in answer["body"] and "evil.example" not in answer["body"]


@pytest.mark.parametrize("name, method, path, token", [
    ("admin_api", "GET", "/healthz", None),
    ("admin_api", "GET", "/admin/users", None),  # 401 JSON
    ("admin_api", "GET", "/admin/users", "test-admin-token-9f8e7d6c5b4a"),  # 200 JSON
    ("admin_api", "GET", "/admin/<script>alert(1)</script>", "test-admin-token-9f8e7d6c5b4a"),  # 404 JSON
    ("saml_metadata", "GET", "/saml2/nosuch/metadata", None),  # 404 page
    ("saml_login", "GET", "/login", None),  # 200 page
])
def test_every_response_says_nosniff_and_reflects_nothing_raw(aws_env, name, method, path, token):
    answer = load(name)(http_event(method, path, token=token), LambdaContext())
    headers = {k.lower(): v for k, v in (answer.get("headers") or {}).items()}
    assert headers.get("x-content-type-options") == "nosniff", (path, answer["statusCode"], headers)
    assert "<script>" not in (answer.get("body") or "")
