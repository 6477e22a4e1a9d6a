"""A released username or email stays unusable by another user for a quarantine period (issue 23 item 13):
an SP that knows people by the email (every SSO-only SP, OfficeSpace's NameID) would otherwise take the
new user for the old one. "Released" = the user was deleted or changed it. A 409 names the quarantine and
the date it ends; an administrator may confirm the reuse ("confirm_reuse": true), which is audited.
Driven through the admin API's Lambda handler, with the period from the environment as AWS sets it."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from idp_testing.lambda_client import load
from idp_testing.lambda_events import LambdaContext, http_event


@pytest.fixture
def api(aws_env):
    handler = load("admin_api")

    def call(method, path, body=None, query=None):
        answer = handler(http_event(method, path, body, query=query), LambdaContext())
        return answer["statusCode"], json.loads(answer["body"]) if answer.get("body") else None

    return call


def person(name, **extra):
    return {"username": name, "email": f"{name}@example.com", "firstname": name.title(), "lastname": "Lee", **extra}


def _quarantined(answer, what: str, value: str, days: int = 30):
    status, body = answer
    assert status == 409 and body["error"] == "quarantined", (status, body)
    message = body["message"]
    assert f"{what} '{value}'" in message and "quarantined until" in message and '"confirm_reuse": true' in message, message
    until = message.split("quarantined until ")[1].split(" ")[0]
    ends = datetime.fromisoformat(until.replace("Z", "+00:00"))
    expected = datetime.now(timezone.utc) + timedelta(days=days)
    assert abs((ends - expected).total_seconds()) < 120, (until, expected)


def test_a_deleted_users_names_are_quarantined(api):
    status, ada = api("POST", "/admin/users", person("ada"))
    assert status == 201
    assert api("DELETE", f"/admin/users/{ada['id']}")[0] == 204
    # the email, the username, and either of them as the other (one namespace), any case
    _quarantined(api("POST", "/admin/users", person("eve", email="ada@example.com")), "email", "ada@example.com")
    _quarantined(api("POST", "/admin/users", person("ada", email="other@example.com")), "username", "ada")
    _quarantined(api("POST", "/admin/users", person("ADA@example.com", email="x@example.com")), "username", "ADA@example.com")
    status, eve = api("POST", "/admin/users", person("eve"))
    assert status == 201
    _quarantined(api("PATCH", f"/admin/users/{eve['id']}", {"email": "Ada@Example.com"}), "email", "Ada@Example.com")
    assert api("GET", f"/admin/users/{eve['id']}")[1]["email"] == "eve@example.com"


def test_a_changed_email_is_quarantined_but_its_owner_may_take_it_back(api):
    status, bob = api("POST", "/admin/users", person("bob"))
    status, carl = api("POST", "/admin/users", person("carl"))
    status, moved = api("PATCH", f"/admin/users/{bob['id']}", {"email": "robert@example.com", "username": "robert"})
    assert status == 200 and moved["email"] == "robert@example.com", moved
    _quarantined(api("PATCH", f"/admin/users/{carl['id']}", {"email": "bob@example.com"}), "email", "bob@example.com")
    _quarantined(api("PATCH", f"/admin/users/{carl['id']}", {"username": "bob"}), "username", "bob")
    status, back = api("PATCH", f"/admin/users/{bob['id']}", {"email": "bob@example.com"})  # the one who released it
    assert status == 200 and back["email"] == "bob@example.com", back
    # robert@ is now released by bob in its turn
    _quarantined(api("PATCH", f"/admin/users/{carl['id']}", {"email": "robert@example.com"}), "email", "robert@example.com")


def test_an_administrator_confirms_the_reuse_and_it_is_audited(api):
    status, ada = api("POST", "/admin/users", person("ada"))
    assert api("DELETE", f"/admin/users/{ada['id']}")[0] == 204
    status, eve = api("POST", "/admin/users", person("eve", email="ada@example.com", confirm_reuse=True))
    assert status == 201 and eve["email"] == "ada@example.com" and "confirm_reuse" not in eve, eve
    status, page = api("GET", "/admin/events", query={"type": "admin.user.released_name_reused"})
    assert status == 200, page
    [reuse] = page["items"]
    assert reuse["user_id"] == eve["id"] and reuse["changes"] == ["email"] and reuse["actor"]["type"] == "admin"
    assert reuse["detail"]["released_by"] == ada["id"] and reuse["detail"]["field"] == "email"
    assert "ada@example.com" not in json.dumps(reuse)  # the field, never the value
    # the username "ada" is still quarantined; confirming it on a PATCH works the same way
    _quarantined(api("PATCH", f"/admin/users/{eve['id']}", {"username": "ada"}), "username", "ada")
    status, renamed = api("PATCH", f"/admin/users/{eve['id']}", {"username": "ada", "confirm_reuse": True})
    assert status == 200 and renamed["username"] == "ada"
    status, page = api("GET", "/admin/events", query={"type": "admin.user.released_name_reused"})
    assert sorted(tuple(e["changes"]) for e in page["items"]) == [("email",), ("username",)]
    # a confirmation where nothing is quarantined changes nothing and is no reuse
    assert api("POST", "/admin/users", person("zoe", confirm_reuse=True))[0] == 201
    assert len(api("GET", "/admin/events", query={"type": "admin.user.released_name_reused"})[1]["items"]) == 2
    status, body = api("POST", "/admin/users", person("yan", confirm_reuse="maybe"))
    assert status == 400 and "'confirm_reuse'" in body["message"]


def test_the_period_comes_from_the_environment(api, monkeypatch):
    from idp import bootstrap

    monkeypatch.setenv("IDP_RELEASED_NAME_QUARANTINE_DAYS", "7")
    bootstrap.reset()
    status, ada = api("POST", "/admin/users", person("ada"))
    assert api("DELETE", f"/admin/users/{ada['id']}")[0] == 204
    _quarantined(api("POST", "/admin/users", person("ada")), "username", "ada", days=7)
    monkeypatch.setenv("IDP_RELEASED_NAME_QUARANTINE_DAYS", "0")  # off: a name released from now on is free at once
    bootstrap.reset()
    status, bob = api("POST", "/admin/users", person("bob"))
    assert api("DELETE", f"/admin/users/{bob['id']}")[0] == 204
    assert api("POST", "/admin/users", person("bob"))[0] == 201
    monkeypatch.setenv("IDP_RELEASED_NAME_QUARANTINE_DAYS", "-1")
    bootstrap.reset()
    from idp.settings import Settings, SettingsError

    with pytest.raises(SettingsError, match="IDP_RELEASED_NAME_QUARANTINE_DAYS"):
        Settings.load()


def test_the_store_checks_the_quarantine_in_the_claiming_transaction(api):
    """The service reads the marker first for its answer; the transaction that claims the name checks it again,
    so a name released between that read and the write is refused too (here: the store alone, as that race sees it)."""
    from idp.bootstrap import container

    status, ada = api("POST", "/admin/users", person("ada"))
    assert api("DELETE", f"/admin/users/{ada['id']}")[0] == 204
    store = container().store
    with pytest.raises(Exception) as refused:
        store.create_user(person("eve", email="ada@example.com"), None, lambda user: [])
    assert getattr(refused.value, "code", None) == "quarantined", refused.value
    assert store.find_user_id("email", "eve") is None
    made = store.create_user(person("eve", email="ada@example.com"), None, lambda user: [], confirm_reuse=True)
    assert store.find_user_id("email", "ada@example.com") == made["id"] and store.released_name("ada@example.com") is None
