"""Identity sources in the admin API (contract section 10), through the admin resolver against moto."""
from __future__ import annotations

import hashlib
import json

import boto3
import pytest

from idp_testing.lambda_events import LambdaContext, http_event


@pytest.fixture
def api(aws_env):
    from idp.web.admin_api import admin_resolver

    app = admin_resolver()

    def call(method, path, body=None, **kw):
        answer = app.resolve(http_event(method, path, body, **kw), LambdaContext())
        text = answer.get("body") or ""
        return answer["statusCode"], (json.loads(text) if text else None)

    return call


def test_create_shows_the_token_once_and_stores_only_its_hash(api, aws_env):
    # Given an administrator, When they add a source, Then the answer holds its token and SCIM base URL
    status, created = api("POST", "/admin/sources", {"name": "Workday", "match": "email"})
    assert status == 201, created
    assert set(created) >= {"id", "name", "token", "scim_base_url"}
    assert created["scim_base_url"] == "https://idp.example.com/scim/v2"
    # ... and no later answer shows it, nor its hash
    status, shown = api("GET", f"/admin/sources/{created['id']}")
    assert status == 200 and "token" not in shown and "token_hash" not in shown
    assert shown["match"] == "email" and shown["on_delete"] == "suspend" and shown["last_used_at"] is None
    assert shown["created_at"]
    status, listed = api("GET", "/admin/sources")
    assert [s["id"] for s in listed["items"]] == [created["id"]] and "token" not in json.dumps(listed)
    # ... and the table holds the SHA-256, never the token
    items = boto3.resource("dynamodb").Table(aws_env.table_name).scan()["Items"]
    dumped = json.dumps(items, default=str)
    assert created["token"] not in dumped
    assert hashlib.sha256(created["token"].encode()).hexdigest() in dumped


def test_defaults_validation_and_audit(api):
    status, created = api("POST", "/admin/sources", {"name": "BambooHR"})
    assert status == 201
    status, shown = api("GET", f"/admin/sources/{created['id']}")
    assert (shown["match"], shown["on_delete"]) == ("none", "suspend")
    for bad, field in (({"name": "x", "match": "phone"}, "match"), ({"name": "x", "on_delete": "erase"}, "on_delete"),
                       ({}, "name"), ({"name": "x", "colour": "red"}, "colour")):
        status, body = api("POST", "/admin/sources", bad)
        assert status == 400 and field in body["message"], body
    api("POST", f"/admin/sources/{created['id']}/token")
    api("DELETE", f"/admin/sources/{created['id']}")
    status, events = api("GET", "/admin/events", query={"limit": "20"})
    kinds = [e["type"] for e in events["items"]]
    assert {"admin.source.created", "admin.source.token_rotated", "admin.source.deleted"} <= set(kinds)
    assert created["token"] not in json.dumps(events)


def test_rotate_and_delete(api):
    status, created = api("POST", "/admin/sources", {"name": "Okta"})
    status, rotated = api("POST", f"/admin/sources/{created['id']}/token")
    assert status == 200 and rotated["token"] != created["token"]
    assert api("DELETE", f"/admin/sources/{created['id']}")[0] == 204
    assert api("GET", f"/admin/sources/{created['id']}")[0] == 404
    assert api("DELETE", f"/admin/sources/{created['id']}")[0] == 404
    assert api("POST", f"/admin/sources/{created['id']}/token")[0] == 404


def test_sources_need_the_admin_token(api):
    assert api("GET", "/admin/sources", token=None)[0] == 401
    status, created = api("POST", "/admin/sources", {"name": "Okta"})
    # a source token opens nothing under /admin
    assert api("GET", "/admin/sources", token=created["token"])[0] == 401
    assert api("GET", "/admin/users", token=created["token"])[0] == 401
