"""The built Lambda package run as Lambda runs it: code dir + layer only, AWS = moto over HTTP. What runs is the
x86_64 build (.aws-sam/build-x86_64, `make build`): this machine cannot execute the arm64 build that `make deploy`
ships (.aws-sam/build), whose binaries test_arm64_build checks instead."""
from __future__ import annotations

import copy
import json
import re
import urllib.parse
from pathlib import Path

import pytest
import yaml
from packaged_stack import ADMIN_TOKEN, BUILD, CREDENTIALS, EVENTS, REGION, ROOT, SMOKE_TESTED, STACK, resolve, sample

pytestmark = pytest.mark.package


def request(event: dict, method: str | None = None, headers: dict | None = None, drop: tuple = (), body=None) -> dict:
    """A variant of a sample API Gateway v2 event."""
    event = copy.deepcopy(event)
    if method:
        event["requestContext"]["http"]["method"] = method
    event["headers"] = {k: v for k, v in {**event["headers"], **(headers or {})}.items() if k not in drop}
    if body is not None:
        event["body"] = json.dumps(body)
    return event


def test_every_function_of_the_template_is_smoke_tested(template):
    functions = {lid for lid, res in template["Resources"].items() if res["Type"] == "AWS::Serverless::Function"}
    assert functions == SMOKE_TESTED


class _IgnoreTags(yaml.SafeLoader):
    """Reads template.yaml's short intrinsics (!Ref, !Sub, ...) as None: only plain paths are needed from it."""


_IgnoreTags.add_multi_constructor("!", lambda loader, suffix, node: None)


def _tree(root: Path, only: set[str] | None = None) -> dict[str, bytes]:
    files = (p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc")
    return {str(p.relative_to(root)): p.read_bytes() for p in files if only is None or p.relative_to(root).parts[0] in only}


@pytest.mark.parametrize("build", [BUILD, ROOT / ".aws-sam" / "build"], ids=["x86_64", "arm64"])
def test_build_is_current(template, build):
    """pytest alone never rebuilds: a build older than the sources must not pass for them (both builds)."""
    source = yaml.load((ROOT / "template.yaml").read_text(), Loader=_IgnoreTags)["Resources"]
    for lid, res in template["Resources"].items():
        if res["Type"] == "AWS::Serverless::Function":
            src, built = _tree(ROOT / source[lid]["Properties"]["CodeUri"]), _tree(build / res["Properties"]["CodeUri"])
        elif res["Type"] == "AWS::Serverless::LayerVersion":
            src = _tree(ROOT / source[lid]["Properties"]["ContentUri"])
            built = _tree(build / res["Properties"]["ContentUri"] / "python", {Path(k).parts[0] for k in src})
        else:
            continue
        stale = sorted(k for k in src.keys() | built.keys() if src.get(k) != built.get(k))
        assert not stale, f"{lid} differs from its sources in {stale[:10]}: run `make build`"


def test_admin_api_lists_users_with_the_token_from_secrets_manager(invoke):
    listing = request(sample("http_admin_users.json"), headers={"authorization": f"Bearer {ADMIN_TOKEN}"})
    create = request(listing, "POST", {"content-type": "application/json"},
                     body={"username": "pkg", "email": "pkg@example.com", "firstname": "Pkg", "lastname": "Smoke"})
    anonymous, created, listed = invoke("AdminApiFunction", [request(listing, drop=("authorization",)), create, listing])
    assert anonymous["statusCode"] == 401 and json.loads(anonymous["body"])["error"] == "unauthorized"
    assert created["statusCode"] == 201, created
    assert listed["statusCode"] == 200, listed
    items = json.loads(listed["body"])["items"]
    assert json.loads(created["body"])["id"] in [user["id"] for user in items]


def test_saml_metadata_of_an_unknown_app_is_a_404(invoke):
    (answer,) = invoke("SamlMetadataFunction", [sample("http_saml_metadata.json")])
    assert answer["statusCode"] == 404, answer
    assert "officespace" in answer["body"]


def test_saml_login_page_renders(invoke):
    (answer,) = invoke("SamlLoginFunction", [sample("http_saml_login.json")])
    assert answer["statusCode"] == 200, answer
    assert answer["headers"]["Content-Type"].startswith("text/html")
    assert "<form" in answer["body"] and 'name="password"' in answer["body"]


def test_console_sends_a_browser_without_a_session_to_the_login(invoke):
    (answer,) = invoke("ConsoleFunction", [sample("http_console.json")])
    assert answer["statusCode"] == 302, answer
    assert answer["headers"]["Location"].startswith("/login?state=")
    assert "frame-ancestors 'none'" in answer["headers"]["Content-Security-Policy"]


def test_scim_server_refuses_a_request_without_a_source_token(invoke):
    # The admin token opens nothing under /scim/v2; no token is a SCIM 401 (contract section 10).
    anonymous, admin = invoke("ScimServerFunction", [sample("http_scim_server.json"),
                                                     request(sample("http_scim_server.json"), headers={"authorization": f"Bearer {ADMIN_TOKEN}"})])
    for answer in (anonymous, admin):
        assert answer["statusCode"] == 401, answer
        assert json.loads(answer["body"])["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]


def test_a_csv_import_is_previewed_by_the_admin_function_and_applied_by_the_import_job(invoke, stack):
    """POST /admin/imports/users and its confirmation (admin function), then the job's message handed to the import
    job function as the event source mapping hands it over, each under its own role (IAM enforced)."""
    import boto3

    admin = request(sample("http_admin_users.json"), headers={"authorization": f"Bearer {ADMIN_TOKEN}"})
    preview = request(admin, "POST", {"content-type": "text/csv"})
    preview["rawPath"] = preview["requestContext"]["http"]["path"] = "/admin/imports/users"
    preview["body"] = (EVENTS / "users-import.csv").read_text()
    (previewed,) = invoke("AdminApiFunction", [preview])
    assert previewed["statusCode"] == 201, previewed
    report = json.loads(previewed["body"])
    creates = report["summary"]["create"]
    assert creates > 0 and report["summary"]["error"] == 0, report["summary"]
    confirm = request(admin, "POST", {"content-type": "application/json"}, body={})
    confirm["rawPath"] = confirm["requestContext"]["http"]["path"] = f"/admin/imports/users/{report['id']}/confirm"
    (confirmed,) = invoke("AdminApiFunction", [confirm])
    assert confirmed["statusCode"] == 202, confirmed

    endpoint, names = stack
    sqs = boto3.client("sqs", endpoint_url=endpoint, region_name=REGION, **CREDENTIALS)
    messages = sqs.receive_message(QueueUrl=names["ImportJobQueue"], MaxNumberOfMessages=10,
                                   AttributeNames=["All"]).get("Messages", [])
    assert messages, "the confirmation queued no job"
    event = {"Records": [{"messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
                          "attributes": m["Attributes"], "messageAttributes": {}, "md5OfBody": m["MD5OfBody"],
                          "eventSource": "aws:sqs", "eventSourceARN": names["ImportJobQueue.Arn"], "awsRegion": REGION}
                         for m in messages]}
    assert invoke("ImportJobFunction", [event]) == [{"batchItemFailures": []}]
    status = request(admin)
    status["rawPath"] = status["requestContext"]["http"]["path"] = f"/admin/imports/users/{report['id']}"
    (answer,) = invoke("AdminApiFunction", [status])
    assert json.loads(answer["body"])["status"] == "done" and json.loads(answer["body"])["applied"] == creates, answer


def test_scim_push_takes_the_sample_batch_and_every_event_kind(invoke, template, stack):
    queue_arn = resolve(template["Resources"]["ScimPushFunction"]["Properties"]["Events"]["DirectoryEvents"]
                        ["Properties"]["Queue"], stack[1])
    bodies = [json.loads(p.read_text()) for p in sorted((EVENTS / "directory").glob("*.json"))]
    kinds = {"Records": [{"messageId": f"m{i}", "receiptHandle": f"r{i}", "body": json.dumps(body),
                          "attributes": {"ApproximateReceiveCount": "1", "MessageGroupId": body["id"]},
                          "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs",
                          "eventSourceARN": queue_arn, "awsRegion": REGION} for i, body in enumerate(bodies)]}
    # The samples name users and groups this empty directory does not hold, and no app: nothing to push.
    assert invoke("ScimPushFunction", [sample("sqs_batch.json"), kinds]) == [{"batchItemFailures": []}] * 2


def test_reconcile_relays_the_outbox_on_both_schedules(invoke, template):
    events = template["Resources"]["ReconcileFunction"]["Properties"]["Events"]
    # EventBridge hands the rule's Input to the function in place of the scheduled event.
    outbox = json.loads(next(e["Properties"]["Input"] for e in events.values() if "Input" in e["Properties"]))
    scheduled, relayed = invoke("ReconcileFunction", [sample("reconcile_schedule.json"), outbox])
    assert isinstance(scheduled["relayed"], int) and "reconcile" in scheduled
    assert set(relayed) == {"relayed"}


# ---------------------------------------------------------------- under each function's role (IAM enforced)
LOGIN_USER, LOGIN_PASSWORD = "pkglogin", "correct horse battery staple 7"


def _form_fields(html: str) -> dict[str, str]:
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html))


def _password_login(invoke, username: str = LOGIN_USER, roles: tuple = ()) -> dict:
    """An administrator creates a user with a password (admin API), then the user signs in (login function):
    the login's answer to POST /login (or to GET /login when that already failed)."""
    admin = request(sample("http_admin_users.json"), "POST", {"authorization": f"Bearer {ADMIN_TOKEN}",
                                                             "content-type": "application/json"},
                    body={"username": username, "email": f"{username}@example.com", "firstname": "Pkg",
                          "lastname": "Login", "password": LOGIN_PASSWORD, **({"roles": list(roles)} if roles else {})})
    (created,) = invoke("AdminApiFunction", [admin])
    assert created["statusCode"] in (201, 409), created  # 409: an earlier test of this module created it
    (page,) = invoke("SamlLoginFunction", [sample("http_saml_login.json")])
    if page["statusCode"] != 200:  # a role without what the sign-in page needs stops here
        return page
    fields = {**_form_fields(page["body"]), "username": username, "password": LOGIN_PASSWORD}
    post = copy.deepcopy(sample("http_saml_login.json"))
    post["requestContext"]["http"]["method"] = "POST"
    post["routeKey"] = "POST /login"
    post["headers"]["content-type"] = "application/x-www-form-urlencoded"
    post["cookies"] = [c.split(";", 1)[0] for c in page.get("cookies", [])]
    post["body"] = urllib.parse.urlencode(fields)
    (answer,) = invoke("SamlLoginFunction", [post])
    return answer


def test_a_password_login_runs_under_the_login_role(invoke):
    answer = _password_login(invoke)
    assert answer["statusCode"] in (200, 302, 303), answer
    assert any(c.startswith("__Host-idp_session=") or "session" in c.split("=", 1)[0] for c in answer.get("cookies", [])), answer
    calls = invoke.decisions["SamlLoginFunction"]
    assert {d[0] for d in calls} >= {"dynamodb:BatchWriteItem", "dynamodb:BatchGetItem"}, calls
    assert all(d[3] == "Allow" for d in calls)


@pytest.mark.parametrize("lid,action", [("SamlLoginFunction", "dynamodb:BatchWriteItem"),
                                        ("SamlLoginFunction", "dynamodb:PutItem")])
def test_taking_a_write_action_from_the_login_role_breaks_the_login(invoke, lid, action):
    """The proof that the roles are enforced: without one action its role grants, the login fails."""
    for statement in invoke.roles[lid]:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        statement["Action"] = [a for a in actions if a != action] or ["none:None"]
    answer = _password_login(invoke)
    denied = [d for d in invoke.decisions[lid] if d[3] != "Allow"]
    assert denied and denied[0][0] == action, invoke.decisions[lid]
    assert answer["statusCode"] >= 500 or not any("session" in c for c in answer.get("cookies", [])), answer


def test_narrowing_the_login_roles_leading_keys_breaks_the_login(invoke):
    """The condition is evaluated too: without SESSION# among the login role's leading keys, no session."""
    for statement in invoke.roles["SamlLoginFunction"]:
        for keys in (statement.get("Condition") or {}).values():
            if "dynamodb:LeadingKeys" in keys:
                keys["dynamodb:LeadingKeys"] = [k for k in keys["dynamodb:LeadingKeys"] if k != "SESSION#*"]
    answer = _password_login(invoke)
    denied = [d for d in invoke.decisions["SamlLoginFunction"] if d[3] != "Allow"]
    assert denied and any(str(k).startswith("SESSION#") for k in denied[0][2]["dynamodb:LeadingKeys"]), denied
    assert answer["statusCode"] >= 500 or not any("session" in c for c in answer.get("cookies", [])), answer


def _admin(path: str, method: str = "GET", body: dict | None = None) -> dict:
    event = request(sample("http_admin_users.json"), method, {"authorization": f"Bearer {ADMIN_TOKEN}",
                                                             "content-type": "application/json"}, body=body)
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    event["routeKey"] = f"{method} {path}"
    return event


def _push_one_user(invoke, stack, slug: str, fails: bool = False) -> tuple[list, object, str]:
    """An app provisioning to a SCIM server on loopback, a user bound to it (admin API), then the events the
    admin API queued, handed to the push function as its SQS event source would: (its answers, the SP, the user id)."""
    import boto3

    from idp_testing.scim_server import ScimServer

    server = ScimServer(token="pkg-scim-token-0d9c")
    invoke.env["IDP_ALLOW_LOCAL_TARGETS"] = "1"  # the SP listens on loopback; the SSRF guard refuses it otherwise
    answers = invoke("AdminApiFunction", [
        _admin("/admin/apps", "POST", {"slug": slug, "label": slug, "sp_entity_id": f"{slug}.example.com",
                                       "acs_urls": [f"https://{slug}.example.com/acs"]}),
        _admin(f"/admin/apps/{slug}/provisioning", "PUT", {"base_url": server.base_url, "token": "pkg-scim-token-0d9c",
                                                          "enabled": True}),
        _admin("/admin/users", "POST", {"username": f"{slug}-u", "email": f"{slug}-u@example.com",
                                        "firstname": "Pkg", "lastname": "Push"})])
    assert [a["statusCode"] for a in answers] == [201, 200, 201], answers
    uid = json.loads(answers[2]["body"])["id"]
    (bound,) = invoke("AdminApiFunction", [_admin(f"/admin/apps/{slug}/users/{uid}", "PUT")])
    assert bound["statusCode"] == 204, bound
    endpoint, names = stack
    sqs = boto3.client("sqs", endpoint_url=endpoint, region_name=REGION, **CREDENTIALS)
    records = []
    while True:
        got = sqs.receive_message(QueueUrl=names["DirectoryEventsQueue"], MaxNumberOfMessages=10,
                                  AttributeNames=["All"]).get("Messages", [])
        if not got:
            break
        for m in got:
            sqs.delete_message(QueueUrl=names["DirectoryEventsQueue"], ReceiptHandle=m["ReceiptHandle"])
        records += [{"messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
                     "attributes": m.get("Attributes", {}), "messageAttributes": {}, "md5OfBody": m["MD5OfBody"],
                     "eventSource": "aws:sqs", "eventSourceARN": names["DirectoryEventsQueue.Arn"], "awsRegion": REGION}
                    for m in got]
    assert any(uid in r["body"] for r in records), records
    return invoke("ScimPushFunction", [{"Records": records}], fails=fails), server, uid


def test_a_user_is_pushed_under_the_push_role(invoke, stack):
    answers, server, uid = _push_one_user(invoke, stack, "pkgpush")
    try:
        assert answers == [{"batchItemFailures": []}], answers
        assert uid in {u.get("externalId") for u in server.stored("Users")}
        calls = invoke.decisions["ScimPushFunction"]
        assert any(d[0].startswith("ssm:GetParameter") for d in calls) and all(d[3] == "Allow" for d in calls), calls
    finally:
        server.close()


def test_taking_the_ssm_read_from_the_push_role_breaks_the_push(invoke, stack):
    """The push reads the app's SCIM token from SSM: without ssm:GetParameter* the user never reaches the SP."""
    for statement in invoke.roles["ScimPushFunction"]:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        statement["Action"] = [a for a in actions if not a.startswith("ssm:GetParameter")] or ["none:None"]
    answers, server, uid = _push_one_user(invoke, stack, "pkgnossm", fails=True)
    try:
        denied = [d for d in invoke.decisions["ScimPushFunction"] if d[3] != "Allow"]
        assert denied and denied[0][0].startswith("ssm:GetParameter"), invoke.decisions["ScimPushFunction"]
        assert uid not in {u.get("externalId") for u in server.stored("Users")}
        # Every record failed: the invocation fails and the whole batch comes back to be tried again.
        assert answers == [] and "AccessDeniedException" in invoke.error
    finally:
        server.close()


CONSOLE_PAGES = ("/console", "/console/users", "/console/groups", "/console/apps", "/console/events", "/console/settings",
                 "/console/apps/new", "/console/apps/{slug}", "/console/apps/{slug}/sso",
                 "/console/apps/{slug}/users", "/console/apps/{slug}/groups", "/console/apps/{slug}/identity-management",
                 "/console/apps/{slug}/log", "/console/users/{uid}")


def test_the_consoles_pages_run_under_the_console_role(invoke, stack):
    """An administrator signs in (login function) and opens every page of the console (console function, under
    its role), an app with signing keys and provisioning among them; then what the console read is checked
    against what it needs: SCIM tokens (provision now), never a private key or the sign-on keys."""
    answers, server, uid = _push_one_user(invoke, stack, "pkgconsole")
    server.close()
    login = _password_login(invoke, "pkgadmin", roles=("admin",))
    assert login["statusCode"] in (200, 302, 303), login
    cookies = [c.split(";", 1)[0] for c in login.get("cookies", [])]
    cookies = _enrol_totp(invoke, cookies)  # an administrator's console session always passed a second factor
    events = []
    for path in CONSOLE_PAGES:
        event = copy.deepcopy(sample("http_console.json"))
        path = path.format(slug="pkgconsole", uid=uid)
        event["rawPath"] = event["requestContext"]["http"]["path"] = path
        event["cookies"] = cookies
        events.append(event)
    pages = invoke("ConsoleFunction", events)
    assert [p["statusCode"] for p in pages] == [200] * len(CONSOLE_PAGES), [
        (path, p["statusCode"], p.get("headers", {}).get("Location")) for path, p in zip(CONSOLE_PAGES, pages)]
    calls = invoke.decisions["ConsoleFunction"]
    assert calls and all(d[3] == "Allow" for d in calls), [d for d in calls if d[3] != "Allow"]
    read = {d[1] for d in calls if d[0].startswith("ssm:GetParameter")}
    assert not any("/signing-keys/" in r for r in read), read


def _login_event(path: str, cookies: list[str], method: str = "GET", form: dict | None = None) -> dict:
    event = copy.deepcopy(sample("http_saml_login.json"))
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    event["routeKey"] = f"{method} {path}"
    event["requestContext"]["http"]["method"] = method
    event["cookies"] = cookies
    if form is not None:
        event["headers"]["content-type"] = "application/x-www-form-urlencoded"
        event["body"] = urllib.parse.urlencode(form)
    return event


def _enrol_totp(invoke, cookies: list[str]) -> list[str]:
    """The signed-in user sets up an authenticator app on /account (login function, under its role): the cookies
    with the session its first code renewed."""
    import pyotp

    (page,) = invoke("SamlLoginFunction", [_login_event("/account", cookies)])
    assert page["statusCode"] == 200, page
    (setup,) = invoke("SamlLoginFunction", [_login_event("/account/totp", cookies, "POST",
                                                         {"csrf": _form_fields(page["body"])["csrf"]})])
    secret = re.search(r'data-testid="setup-key">([A-Z2-7]+)<', setup["body"]).group(1)
    (done,) = invoke("SamlLoginFunction", [_login_event("/account/totp/confirm", cookies, "POST",
                                                        {**_form_fields(setup["body"]), "code": pyotp.TOTP(secret).now()})])
    assert done["statusCode"] == 200 and "Authenticator app added" in done["body"], done["statusCode"]
    renewed = dict(c.split("=", 1) for c in cookies)
    renewed.update(c.split(";", 1)[0].split("=", 1) for c in done.get("cookies", []))
    return [f"{name}={value}" for name, value in renewed.items()]


def _signed_in_user_of_an_app(invoke, slug: str) -> list[str]:
    """An app, a user with a password bound to it (admin API), signed in (login function): its cookies."""
    answers = invoke("AdminApiFunction", [
        _admin("/admin/apps", "POST", {"slug": slug, "label": slug, "sp_entity_id": f"{slug}.example.com",
                                       "acs_urls": [f"https://{slug}.example.com/acs"]}),
        _admin("/admin/users", "POST", {"username": f"{slug}-u", "email": f"{slug}-u@example.com", "firstname": "Pkg",
                                        "lastname": "Sso", "password": LOGIN_PASSWORD})])
    assert [a["statusCode"] for a in answers] == [201, 201], answers
    uid = json.loads(answers[1]["body"])["id"]
    (bound,) = invoke("AdminApiFunction", [_admin(f"/admin/apps/{slug}/users/{uid}", "PUT")])
    assert bound["statusCode"] == 204, bound
    login = _password_login(invoke, f"{slug}-u")
    assert login["statusCode"] in (200, 302, 303), login
    return [c.split(";", 1)[0] for c in login.get("cookies", [])]


def test_sso_account_and_logout_run_under_the_login_role(invoke):
    """IdP- and SP-initiated SSO (signed Responses: the app's private key read from SSM), the account page and
    the logout, all under the login function's role."""
    import base64

    from idp_testing.saml_sp import authn_request_xml, redirect_query

    cookies = _signed_in_user_of_an_app(invoke, "pkgsso")
    sp_initiated = _login_event("/saml2/pkgsso", cookies)
    sp_initiated["rawQueryString"] = redirect_query(authn_request_xml(
        req_id="_pkgsso0123456789", issuer="pkgsso.example.com", acs_url="https://pkgsso.example.com/acs", destination=None))
    sp_initiated["queryStringParameters"] = dict(urllib.parse.parse_qsl(sp_initiated["rawQueryString"]))
    sso, answered, account = invoke("SamlLoginFunction", [_login_event("/saml2/pkgsso", cookies), sp_initiated,
                                                          _login_event("/account", cookies)])
    assert sso["statusCode"] == 200 and 'name="SAMLResponse"' in sso["body"], sso
    response = _form_fields(answered["body"]).get("SAMLResponse") or re.search(
        r'name="SAMLResponse" value="([^"]+)"', answered["body"]).group(1)
    assert 'InResponseTo="_pkgsso0123456789"' in base64.b64decode(response).decode(), answered["statusCode"]
    assert account["statusCode"] == 200, account
    calls = invoke.decisions["SamlLoginFunction"]
    assert any(d[0] == "ssm:GetParameter" and "/signing-keys/" in d[1] for d in calls), calls
    csrf = _form_fields(account["body"]).get("csrf")
    (out,) = invoke("SamlLoginFunction", [_login_event("/logout", cookies, "POST", {"csrf": csrf or ""})])
    assert out["statusCode"] in (200, 302, 303), out
    assert all(d[3] == "Allow" for d in calls + invoke.decisions["SamlLoginFunction"])


def test_taking_the_signing_key_read_from_the_login_role_breaks_sso(invoke):
    cookies = _signed_in_user_of_an_app(invoke, "pkgnokey")
    for statement in invoke.roles["SamlLoginFunction"]:
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        if any("/signing-keys/" in str(r) for r in resources):
            statement["Resource"] = [r for r in resources if "/signing-keys/" not in str(r)] or ["arn:aws:none"]
    (sso,) = invoke("SamlLoginFunction", [_login_event("/saml2/pkgnokey", cookies)])
    denied = [d for d in invoke.decisions["SamlLoginFunction"] if d[3] != "Allow"]
    assert denied and "/signing-keys/" in denied[0][1], invoke.decisions["SamlLoginFunction"]
    assert 'name="SAMLResponse"' not in sso.get("body", ""), sso


def test_the_sso_audit_line_is_written_by_the_audit_ship_function_under_its_role(invoke, stack):
    """The login function answers an SSO with no audit write (AUDIT_SSO_DELIVERY=log, as the template sets it) and
    prints one `idp_audit` line; everything it printed, packed as the log group's subscription packs it, is handed
    to AuditShipFunction, which writes that one event under its own role (IAM enforced) and nothing else."""
    import time

    import boto3

    from idp.adapters.audit_ship_writer import encode

    cookies = _signed_in_user_of_an_app(invoke, "pkgship")
    (sso,) = invoke("SamlLoginFunction", [_login_event("/saml2/pkgship", cookies)])
    assert sso["statusCode"] == 200 and 'name="SAMLResponse"' in sso["body"], sso
    assert not [d for d in invoke.decisions["SamlLoginFunction"] if "AUDIT#" in json.dumps(d[2])]  # no audit write
    printed = invoke.stdout["SamlLoginFunction"].splitlines()
    (line,) = [m for m in printed if '"idp_audit"' in m]
    item = json.loads(line)["idp_audit"]
    now = int(time.time() * 1000)
    batch = encode(f"/aws/lambda/{STACK}/saml-login", "s", [(str(i), now, m) for i, m in enumerate(printed)])
    assert invoke("AuditShipFunction", [batch, batch]) == [{"written": 1, "skipped": len(printed) - 1}] * 2
    calls = invoke.decisions["AuditShipFunction"]
    assert calls and all(d[0] in ("dynamodb:PutItem", "dynamodb:BatchWriteItem") and d[3] == "Allow" for d in calls), calls
    endpoint, names = stack
    table = boto3.resource("dynamodb", endpoint_url=endpoint, region_name=REGION, **CREDENTIALS).Table(
        names["DirectoryTable"])
    stored = table.get_item(Key={"pk": item["pk"], "sk": item["sk"]})["Item"]
    assert (stored["type"], stored["outcome"], stored["app"]) == ("sso", "success", "pkgship")
