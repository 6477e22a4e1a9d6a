"""GET /admin/apps/{slug}/users/{user_id}/diagnosis through the admin API's handler: each reason code from
real state (bindings, suspension, the login throttle, the MFA policy's answer, refused signed requests)."""
from __future__ import annotations

import json

from idp_testing.lambda_client import LambdaClient, form_login, load
from idp_testing.lambda_events import LambdaContext, http_event


def diagnose(slug: str, uid: str, status: int = 200) -> dict:
    answer = load("admin_api")(http_event("GET", f"/admin/apps/{slug}/users/{uid}/diagnosis"), LambdaContext())
    assert answer["statusCode"] == status, answer["body"]
    return json.loads(answer["body"])


def test_a_bound_user_can_sign_in_and_the_last_sso_is_shown(env):
    uid = env.user["id"]
    before = diagnose("officespace", uid)
    assert before == {"can_sign_in": True, "reasons": [], "access": {"direct": True, "groups": []}, "last_sso": None,
                      "provisioning": {"state": "not_configured", "last": None}}
    c = LambdaClient(env.resolver)
    assert form_login(c, c.request("GET", "/saml2/officespace")).status == 200
    last = diagnose("officespace", uid)["last_sso"]
    assert last["type"] == "sso" and last["outcome"] == "success" and last["user_id"] == uid


def test_not_bound_then_through_a_group(env):
    uid = env.user["id"]
    env.directory.bind_user("officespace", uid, bind=False)
    assert diagnose("officespace", uid)["reasons"] == ["not_bound"]
    group = env.directory.create_group({"name": "Staff"})
    env.directory.add_member(group["id"], uid)
    env.directory.bind_group("officespace", group["id"], bind=True)
    answer = diagnose("officespace", uid)
    assert answer["can_sign_in"] is True and answer["access"] == {"direct": False, "groups": [group["id"]]}


def test_suspended_and_locked_out(env, monkeypatch):
    monkeypatch.setenv("IDP_LOGIN_ACCOUNT_MAX_FAILURES", "2")
    from idp import bootstrap

    bootstrap.reset()
    uid = env.user["id"]
    for n in range(3):  # from three addresses: the account counter, not one address's, holds it back
        c = LambdaClient(env.resolver, ip=f"203.0.113.{n + 1}")
        form_login(c, c.request("GET", "/login"), password="wrong")
    assert diagnose("officespace", uid)["reasons"] == ["locked_out"]
    bootstrap.container().directory.update_user(uid, {"state": "SUSPENDED"})
    assert diagnose("officespace", uid)["reasons"] == ["suspended", "locked_out"]


def test_mfa_not_enrolled_comes_from_the_mfa_policy(env):
    from idp import bootstrap
    from idp.bootstrap import Container

    asked = []

    class Mfa:  # the MFA service's answer for this user: enrol a factor first (grace period over)
        def need(self, user, pending):
            asked.append((user["id"], pending.slug, pending.kind))
            return "enrol"

    class WithMfa(Container):
        mfa = property(lambda self: Mfa())

    bootstrap.use(WithMfa(bootstrap.container().settings))
    assert diagnose("officespace", env.user["id"])["reasons"] == ["mfa_not_enrolled"]
    assert asked == [(env.user["id"], "officespace", "idp")]


def test_signed_requests_failing(env):
    from idp_testing.saml_sp import sp_post_login

    c = LambdaClient(env.resolver)
    _req_id, unsigned = sp_post_login(env.sp)  # the app holds an SP certificate: this is refused
    assert c.request("POST", "/saml2/officespace", form={"SAMLRequest": unsigned}).status == 400
    assert diagnose("officespace", env.user["id"])["reasons"] == ["signed_requests_failing"]


def test_unknown_app_or_user_is_a_404(env):
    assert diagnose("nope", env.user["id"], 404)["error"] == "not_found"
    assert diagnose("officespace", "u-nobody", 404)["error"] == "not_found"


def test_mfa_not_enrolled_under_the_real_policy_past_its_grace(env):
    answer = load("admin_api")(http_event("PUT", "/admin/mfa", {"policy": "required", "grace_days": 0}), LambdaContext())
    assert answer["statusCode"] == 200, answer["body"]
    assert diagnose("officespace", env.user["id"])["reasons"] == ["mfa_not_enrolled"]
    answer = load("admin_api")(http_event("PUT", "/admin/mfa", {"policy": "required", "grace_days": 30}), LambdaContext())
    assert diagnose("officespace", env.user["id"])["reasons"] == []  # inside the grace period: may still sign in (and enrol)


def test_the_diagnosis_and_the_user_page_answer_access_from_the_user_partition(env):
    # Given a user bound directly and through a group, When the diagnosis and the access use case are asked,
    # Then they agree, and neither reads the app's side of a binding (a hot partition: every SSO would read it)
    from idp.bootstrap import container

    uid = env.user["id"]
    group = env.directory.create_group({"name": "Desk bookers"})
    env.directory.add_member(group["id"], uid)
    env.directory.bind_group("officespace", group["id"], bind=True)
    keys: list[str] = []

    def record(model, params, **_) -> None:
        key = params.get("Key") or {}
        keys.append(f"{model.name} {key.get('pk')} {key.get('sk')}" if key else f"{model.name} {params.get('KeyConditionExpression')}")

    events = container().table.meta.client.meta.events
    events.register("before-parameter-build.dynamodb", record)
    try:
        answer = diagnose("officespace", uid)
        apps = container().user_access.apps_of(uid)
    finally:
        events.unregister("before-parameter-build.dynamodb", record)
    assert answer["access"] == {"direct": True, "groups": [group["id"]]}
    officespace = next(a for a in apps if a.slug == "officespace")
    assert (officespace.direct, officespace.groups, officespace.group_names) == (True, (group["id"],), ("Desk bookers",))
    assert not [k for k in keys if "BIND#USER#" in k], keys
