"""The password policy through the admin API's Lambda resolver on moto (contract section 9, issue 26 item 4):
GET|PUT /admin/password-policy (defaults, bounds, a 400 naming the field, audited with the values before and
after, stored in the table for every container), and POST / PATCH /admin/users refusing a weak password with
400 weak_password naming the rule, storing nothing; and the directory service's check_new_password (what the
account, activation and reset pages call) applying the user's own names."""
from __future__ import annotations

import json

import pytest

from idp import bootstrap
from idp.bootstrap import container
from idp_testing.lambda_events import LambdaContext, http_event

STRONG = "Violet-Harbor-Lantern-42"
GRACE = {"username": "grace", "email": "grace.hopper@example.com", "firstname": "Grace", "lastname": "Hopper"}
DEFAULTS = {"min_length": 12, "block_common": True, "block_user_info": True}


@pytest.fixture
def api(aws_env):
    from idp.web.admin_routes import router as admin_router
    from idp.web.audit_routes import router as audit_router
    from idp.web.password_policy_routes import router as password_policy_router
    from idp.web.resolver import lambda_app

    app = lambda_app(admin_router, password_policy_router, audit_router)

    def call(method: str, path: str, body=None, **kw) -> tuple[int, dict | None]:
        answer = app.resolve(http_event(method, path, body, **kw), LambdaContext())
        return answer["statusCode"], json.loads(answer["body"]) if answer.get("body") else None

    return call


def test_get_answers_the_defaults_and_every_route_needs_the_admin_token(api):
    assert api("GET", "/admin/password-policy") == (200, DEFAULTS)
    assert api("GET", "/admin/password-policy", token=None)[0] == 401
    assert api("PUT", "/admin/password-policy", {"min_length": 20}, token="wrong")[0] == 401
    assert api("GET", "/admin/password-policy") == (200, DEFAULTS)


@pytest.mark.parametrize(("body", "field"), [
    ({"min_length": 7}, "min_length"), ({"min_length": 129}, "min_length"), ({"min_length": "12"}, "min_length"),
    ({"block_common": "false"}, "block_common"), ({"block_user_info": 0}, "block_user_info"),
    ({"block_common": None}, "block_common"), ({"min_length": 12, "extra": True}, "extra"),
])
def test_put_refuses_a_bad_body_with_a_400_naming_the_field_and_changes_nothing(api, body, field):
    status, answer = api("PUT", "/admin/password-policy", body)
    assert status == 400 and f"'{field}'" in answer["message"], answer
    assert answer["error"] in ("invalid_field", "unknown_field")
    assert api("GET", "/admin/password-policy") == (200, DEFAULTS)
    status, answer = api("PUT", "/admin/password-policy", raw_body="[12]")
    assert status == 400 and answer["error"] == "invalid_body"


def test_put_sets_the_policy_in_the_table_and_audits_the_values_before_and_after(api):
    assert api("PUT", "/admin/password-policy", {"min_length": 8, "block_common": False}) == (
        200, {"min_length": 8, "block_common": False, "block_user_info": True})
    bootstrap.reset()  # another container (another Lambda) reads the same
    assert api("GET", "/admin/password-policy")[1] == {"min_length": 8, "block_common": False, "block_user_info": True}
    assert api("PUT", "/admin/password-policy", {"min_length": 128}) == (200, {**DEFAULTS, "min_length": 128})

    status, page = api("GET", "/admin/events", query={"type": "admin.password_policy.updated"})
    assert status == 200
    latest, first = page["items"]
    assert first["actor"] == {"type": "admin"} and first["outcome"] == "success"
    assert first["changes"] == ["block_common", "min_length"]
    assert first["detail"] == {"before": {"block_common": True, "min_length": 12},
                               "after": {"block_common": False, "min_length": 8}}
    assert latest["changes"] == ["block_common", "min_length"]
    assert latest["detail"]["after"] == {"block_common": True, "min_length": 128}


@pytest.mark.parametrize(("password", "rule", "words"), [
    ("Harbor-42", "min_length", "at least 12 characters"),
    ("", "min_length", "at least 12 characters"),
    ("password1234", "block_common", "too common"),
    ("Baseball2024!", "block_common", "too common"),
    ("grace-Violet-Harbor", "block_user_info", "the user's username"),
    ("Violet-HOPPER-Harbor", "block_user_info", "the user's last name"),
])
def test_creating_a_user_with_a_weak_password_is_a_400_naming_the_rule(api, password, rule, words):
    status, answer = api("POST", "/admin/users", {**GRACE, "password": password})
    assert status == 400 and answer["error"] == "weak_password", answer
    assert answer["message"].startswith("field 'password': ") and f"(password policy: {rule})" in answer["message"]
    assert words in answer["message"] and (not password or password not in answer["message"])  # never echoed
    assert container().store.find_user_id("username", "grace") is None  # nothing was created


def test_patching_a_weak_password_is_a_400_naming_the_rule_and_keeps_the_old_one(api):
    status, user = api("POST", "/admin/users", {**GRACE, "password": STRONG})
    assert status == 201, user
    before = container().store.get_user_item(user["id"])["password_hash"]
    for password, rule in (("Short-1", "min_length"), ("iloveyou2026", "block_common"),
                           ("Amazing-Grace-Harbor", "block_user_info")):
        status, answer = api("PATCH", f"/admin/users/{user['id']}", {"password": password})
        assert (status, answer["error"]) == (400, "weak_password") and f"(password policy: {rule})" in answer["message"]
    # a new last name in the same change is what the password is checked against
    status, answer = api("PATCH", f"/admin/users/{user['id']}", {"lastname": "Lantern", "password": STRONG})
    assert status == 400 and "the user's last name" in answer["message"]
    assert container().store.get_user_item(user["id"])["password_hash"] == before
    assert api("PATCH", f"/admin/users/{user['id']}", {"password": "Amber-Orchard-Kettle-7"})[0] == 200
    assert container().store.get_user_item(user["id"])["password_hash"] != before


def test_the_policy_set_holds_for_the_next_password_set(api):
    assert api("PUT", "/admin/password-policy", {"min_length": 20, "block_common": False,
                                                 "block_user_info": False})[0] == 200
    status, answer = api("POST", "/admin/users", {**GRACE, "password": STRONG[:19]})
    assert status == 400 and "at least 20 characters" in answer["message"]
    status, user = api("POST", "/admin/users", {**GRACE, "password": "grace-password-123456"})
    assert status == 201, user  # common and her name: both blocks are off
    assert api("PUT", "/admin/password-policy", {})[1] == DEFAULTS  # a field left out takes its default
    status, answer = api("PATCH", f"/admin/users/{user['id']}", {"password": "grace-password-123456"})
    assert status == 400 and answer["error"] == "weak_password"


def test_check_new_password_applies_the_users_own_names_given_the_user_or_its_id(api):
    from idp.kernel.errors import DomainError

    status, user = api("POST", "/admin/users", {**GRACE, "password": STRONG})
    assert status == 201
    directory = container().directory
    directory.check_new_password("Hopper-Violet-Harbor")  # without the user, only length and the list apply
    for who in (user["id"], container().store.get_user(user["id"])):
        with pytest.raises(DomainError) as refused:
            directory.check_new_password("Hopper-Violet-Harbor", who)
        assert refused.value.code == "weak_password" and "(password policy: block_user_info)" in refused.value.message
    with pytest.raises(DomainError) as refused:
        directory.check_new_password("tiny", user["id"])
    assert "(password policy: min_length)" in refused.value.message
    with pytest.raises(DomainError) as refused:
        directory.check_new_password(STRONG, "u-nobody")
    assert refused.value.status == 404
