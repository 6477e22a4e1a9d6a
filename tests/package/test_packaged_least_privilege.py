"""What the roles rendered from template.yaml do not allow (issue 22, least privilege), and that the functions still
work without it: only the login function may read a signing key (by any SSM read, GetParametersByPath included,
which returns every parameter under the path it is allowed on, whatever the policy says of each one); the console
writes only the item kinds its pages change. Each narrowing is proven twice: the paths that need the rest still
run under the narrowed role (here and in test_packaged_functions), and the role's own decisions refuse what it
no longer needs."""
from __future__ import annotations

import copy
import re
import urllib.parse

import boto3
import pytest
from iam_policy import decide
from packaged_stack import CREDENTIALS, REGION, STACK, sample
from test_packaged_functions import _admin, _enrol_totp, _password_login

pytestmark = pytest.mark.package

PARAMETER = f"arn:aws:ssm:{REGION}:123456789012:parameter/{STACK}"
SIGNING_KEY = "apps/someapp/signing-keys/k-0123456789ab"
# Every name or path an SSM read could name to get that key back: the key itself, and each path above it
# (GetParametersByPath on a path returns what lies below it, recursively).
KEY_READS = [("ssm:GetParameter", SIGNING_KEY), ("ssm:GetParameters", SIGNING_KEY),
             ("ssm:GetParameterHistory", SIGNING_KEY)] + [
    ("ssm:GetParametersByPath", path) for path in ("apps/someapp/signing-keys", "apps/someapp", "apps", "")]


def test_the_admin_api_creates_the_sign_on_keys_without_reading_them(invoke, stack):
    """The first password set (admin API) creates the device-cookie key and the MFA seed key, which only the login
    function reads: the admin API creates each without reading it, and the password sign-in then gets a device
    cookie (signed with that key)."""
    login = _password_login(invoke, "pkgkeys")
    admin_calls = [d for d in invoke.decisions["AdminApiFunction"] if d[0].startswith("ssm:")]
    assert {d[0] for d in admin_calls} == {"ssm:PutParameter"} and all(d[3] == "Allow" for d in admin_calls), admin_calls
    assert {d[1].rsplit("/", 1)[1] for d in admin_calls} == {"device-cookie", "mfa-seed-key"}, admin_calls
    assert any(c.startswith("__Host-idp_device=") for c in login.get("cookies", [])), login


@pytest.mark.parametrize("lid", ["AdminApiFunction", "ConsoleFunction", "ScimPushFunction", "ReconcileFunction",
                                 "SamlMetadataFunction"])
def test_only_the_login_function_may_read_a_signing_key(roles, lid):
    allowed = [(action, name) for action, name in KEY_READS
               if decide(roles[lid], action, f"{PARAMETER}/{name}".rstrip("/")) == "Allow"]
    assert allowed == [], f"{lid} may read signing keys with {allowed}"


def test_the_login_function_reads_signing_keys_but_no_scim_token(roles):
    login = roles["SamlLoginFunction"]
    assert decide(login, "ssm:GetParameter", f"{PARAMETER}/{SIGNING_KEY}") == "Allow"
    for action, name in [("ssm:GetParameter", "apps/someapp/scim-token"), ("ssm:GetParametersByPath", "apps/someapp")]:
        assert decide(login, action, f"{PARAMETER}/{name}") != "Allow", (action, name)


def test_the_login_role_adds_audit_events_but_changes_none(roles):
    """Audit events (AUDIT#{day}#{shard}) are added by the login function, never updated or deleted one by one; no other
    AUDIT# partition (the by-user and by-app views are index keys, never a table item's)."""
    login = roles["SamlLoginFunction"]
    table = next(s["Resource"] for s in login if "dynamodb:PutItem" in s.get("Action", []))
    day = {"dynamodb:LeadingKeys": ["AUDIT#2026-12-07#a"]}
    assert [decide(login, a, table, day) for a in ("dynamodb:PutItem", "dynamodb:BatchWriteItem")] == ["Allow"] * 2
    assert [decide(login, a, table, day) for a in ("dynamodb:UpdateItem", "dynamodb:DeleteItem")] == ["ImplicitDeny"] * 2
    assert decide(login, "dynamodb:PutItem", table, {"dynamodb:LeadingKeys": ["AUDIT#USER#u1"]}) == "ImplicitDeny"
    assert decide(login, "dynamodb:PutItem", table, {"dynamodb:LeadingKeys": ["AUDIT#2026-12-07"]}) == "ImplicitDeny"
    # one batch of a session and an audit event would need both statements at once: the login never writes one
    mixed = {"dynamodb:LeadingKeys": ["AUDIT#2026-12-07#a", "SESSION#abc"]}
    assert decide(login, "dynamodb:BatchWriteItem", table, mixed) == "ImplicitDeny"


def _parameters(stack, slug: str) -> list[str]:
    endpoint, _ = stack
    ssm = boto3.client("ssm", endpoint_url=endpoint, region_name=REGION, **CREDENTIALS)
    pages = ssm.get_paginator("describe_parameters").paginate(
        ParameterFilters=[{"Key": "Path", "Option": "Recursive", "Values": [f"/{STACK}/apps/{slug}"]}])
    return sorted(p["Name"] for page in pages for p in page["Parameters"])


def test_deleting_an_app_deletes_its_secrets_under_the_admin_role(invoke, stack):
    """An app with a signing key and a SCIM token, deleted through the admin API under its role: both secrets go
    (their names listed with DescribeParameters, which returns no value)."""
    slug = "pkgdelete"
    created = invoke("AdminApiFunction", [
        _admin("/admin/apps", "POST", {"slug": slug, "label": slug, "sp_entity_id": f"{slug}.example.com",
                                       "acs_urls": [f"https://{slug}.example.com/acs"]}),
        _admin(f"/admin/apps/{slug}/provisioning", "PUT", {"base_url": "https://scim.example.com/v2",
                                                          "token": "pkg-delete-token-7f", "enabled": False})])
    assert [a["statusCode"] for a in created] == [201, 200], created
    names = _parameters(stack, slug)
    assert any("/signing-keys/" in n for n in names) and any(n.endswith("/scim-token") for n in names), names
    (deleted,) = invoke("AdminApiFunction", [_admin(f"/admin/apps/{slug}", "DELETE")])
    assert deleted["statusCode"] == 204, deleted
    assert _parameters(stack, slug) == []
    calls = invoke.decisions["AdminApiFunction"]
    assert all(d[3] == "Allow" for d in calls), [d for d in calls if d[3] != "Allow"]
    assert not any(d[0] == "ssm:GetParametersByPath" for d in calls), calls


# ---------------------------------------------------------------- the console writes only what its forms change
CONSOLE = "ConsoleFunction"


def _console(path: str, cookies: list[str], form: dict | None = None) -> dict:
    event = copy.deepcopy(sample("http_console.json"))
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    event["cookies"] = cookies
    if form is not None:
        event["requestContext"]["http"]["method"] = "POST"
        event["routeKey"] = "POST /console/{proxy+}"
        event["headers"]["content-type"] = "application/x-www-form-urlencoded"
        event["body"] = urllib.parse.urlencode(form)
    return event


def _console_admin(invoke, username: str) -> tuple[list[str], str]:
    """An administrator signed in (login function): the session's cookies and the console's CSRF token."""
    login = _password_login(invoke, username, roles=("admin",))
    assert login["statusCode"] in (302, 303), login
    cookies = [c.split(";", 1)[0] for c in login.get("cookies", [])]
    cookies = _enrol_totp(invoke, cookies)  # an administrator's console session always passed a second factor
    (page,) = invoke(CONSOLE, [_console("/console/groups/new", cookies)])
    assert page["statusCode"] == 200, page
    return cookies, re.search(r'name="csrf" value="([^"]+)"', page["body"]).group(1)


def test_the_consoles_forms_run_under_the_console_role(invoke):
    """A group and a user created, the user made a member, suspended and deleted, the MFA policy saved: each form
    through the console function under its narrowed role (writes only to the item kinds it changes)."""
    cookies, csrf = _console_admin(invoke, "pkgconsforms")
    group, user = invoke(CONSOLE, [
        _console("/console/groups/new", cookies, {"name": "Pkg Facilities", "csrf": csrf}),
        _console("/console/users/new", cookies, {"username": "pkgdana", "email": "pkgdana@example.com",
                                                 "firstname": "Dana", "lastname": "Doe", "csrf": csrf})])
    assert group["statusCode"] == 303 and user["statusCode"] == 303, (group, user)
    calls = list(invoke.decisions[CONSOLE])
    gid = group["headers"]["Location"].split("?")[0].rsplit("/", 1)[1]
    uid = user["headers"]["Location"].split("?")[0].rsplit("/", 1)[1]
    answers = invoke(CONSOLE, [
        _console(f"/console/groups/{gid}/members", cookies, {"member": "pkgdana@example.com", "csrf": csrf}),
        _console(f"/console/users/{uid}/suspend", cookies, {"csrf": csrf}),
        _console(f"/console/users/{uid}/delete", cookies, {"csrf": csrf, "confirm": "on"}),
        _console("/console/settings", cookies, {"policy": "optional", "grace_days": "7", "method_totp": "on",
                                                "csrf": csrf})])
    assert [a["statusCode"] for a in answers] == [303] * 4, [(a["statusCode"], a.get("body", "")[:300]) for a in answers]
    calls += invoke.decisions[CONSOLE]
    assert all(d[3] == "Allow" for d in calls), [d for d in calls if d[3] != "Allow"]
    written = {k.split("#", 1)[0] for d in calls if d[0] in ("dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem",
                                                               "dynamodb:BatchWriteItem")
               for k in d[2]["dynamodb:LeadingKeys"]}
    assert {"GROUP", "USER", "UNIQUE", "OUTBOX", "AUDIT", "SESSIONEPOCH", "MFAPOLICY"} <= written, written


def test_the_console_role_writes_no_session_replay_cache_or_throttle(roles):
    """What the console never writes (its old DynamoDBCrudPolicy allowed every item): a session (it may only end
    a stale one), the SAML replay cache, the login throttles, an import report."""
    table = f"arn:aws:dynamodb:{REGION}:123456789012:table/" + next(
        s["Resource"] for s in roles[CONSOLE] if "dynamodb:PutItem" in s.get("Action", [])).rsplit("/", 1)[1]
    for action, key in [("dynamodb:PutItem", "SESSION#abc"), ("dynamodb:UpdateItem", "SESSION#abc"),
                        ("dynamodb:PutItem", "SAMLREQ#app#_id"), ("dynamodb:UpdateItem", "THROTTLE#ip#203.0.113.1"),
                        ("dynamodb:BatchWriteItem", "IMPORT#app#r1"), ("dynamodb:PutItem", "USER#x")]:
        verdict = decide(roles[CONSOLE], action, table, {"dynamodb:LeadingKeys": [key]})
        assert (verdict == "Allow") == key.startswith("USER#"), (action, key, verdict)
    assert decide(roles[CONSOLE], "dynamodb:DeleteItem", table, {"dynamodb:LeadingKeys": ["SESSION#abc"]}) == "Allow"


def test_taking_group_items_from_the_console_role_breaks_creating_a_group(invoke):
    cookies, csrf = _console_admin(invoke, "pkgconsdeny")
    for statement in invoke.roles[CONSOLE]:
        for keys in (statement.get("Condition") or {}).values():
            if "dynamodb:LeadingKeys" in keys:
                keys["dynamodb:LeadingKeys"] = [k for k in keys["dynamodb:LeadingKeys"] if k != "GROUP#*"]
    (answer,) = invoke(CONSOLE, [_console("/console/groups/new", cookies, {"name": "Pkg Denied", "csrf": csrf})])
    denied = [d for d in invoke.decisions[CONSOLE] if d[3] != "Allow"]
    assert denied and any(k.startswith("GROUP#") for k in denied[0][2]["dynamodb:LeadingKeys"]), invoke.decisions[CONSOLE]
    assert answer["statusCode"] >= 500, answer


def test_the_audit_ship_role_only_adds_audit_events(roles):
    """AuditShipFunction writes what the login function's log lines carry: its role adds audit events (a day's shard)
    and nothing else, reads nothing, changes and deletes nothing (a forged line could not reach another item kind
    even past the writer's own check)."""
    ship = roles["AuditShipFunction"]
    table = next(s["Resource"] for s in ship if "dynamodb:PutItem" in s.get("Action", []))
    day = {"dynamodb:LeadingKeys": ["AUDIT#2026-12-07#a"]}
    assert [decide(ship, a, table, day) for a in ("dynamodb:PutItem", "dynamodb:BatchWriteItem")] == ["Allow"] * 2
    for action in ("dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:Query"):
        assert decide(ship, action, table, day) == "ImplicitDeny", action
    for key in ("USER#u1", "SESSION#abc", "AUDIT#USER#u1", "AUDIT#2026-12-07"):
        assert decide(ship, "dynamodb:PutItem", table, {"dynamodb:LeadingKeys": [key]}) == "ImplicitDeny", key
