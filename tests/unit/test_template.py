"""Static checks of template.yaml and events/ (no AWS, no sockets, no sam/cfn-lint run).

`make lint` runs cfn-lint and `sam validate --lint`; these tests pin the design decisions
that a linter cannot know about: FIFO + DLQ + partial batch failures, visibility timeout vs.
function timeout, TTL/PITR, every contract route wired to the right function, least-privilege
policy templates, no literal secrets, and one sample event per contract section-4 kind.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
EVENTS = ROOT / "events"


# --------------------------------------------------------------------------- loader
class CfnLoader(yaml.SafeLoader):
    """SafeLoader that turns CloudFormation short tags into their long JSON form.

    `!Ref X` -> {"Ref": "X"}; `!GetAtt A.B` -> {"Fn::GetAtt": ["A", "B"]};
    any other `!Name v` -> {"Fn::Name": v} (Sub, If, Equals, Not, Join, Select, ...).
    """


def _cfn_tag(loader: CfnLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if tag_suffix == "Ref":
        return {"Ref": value}
    if tag_suffix == "GetAtt" and isinstance(value, str):
        return {"Fn::GetAtt": value.split(".", 1)}
    return {f"Fn::{tag_suffix}": value}


CfnLoader.add_multi_constructor("!", _cfn_tag)


def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    with path.open(encoding="utf-8") as fh:
        return yaml.load(fh, Loader=CfnLoader)  # SafeLoader subclass


@pytest.fixture(scope="module")
def tpl() -> dict[str, Any]:
    return load_template()


@pytest.fixture(scope="module")
def res(tpl: dict[str, Any]) -> dict[str, Any]:
    return tpl["Resources"]


def fn_prop(tpl: dict[str, Any], fn: str, prop: str) -> Any:
    """A function property, falling back to Globals.Function like SAM does."""
    props = tpl["Resources"][fn]["Properties"]
    if prop in props:
        return props[prop]
    return tpl.get("Globals", {}).get("Function", {}).get(prop)


FUNCTIONS = {
    "AdminApiFunction": "functions/admin_api/",
    "SamlMetadataFunction": "functions/saml_metadata/",
    "SamlLoginFunction": "functions/saml_login/",
    "ScimPushFunction": "functions/scim_push/",
    "ReconcileFunction": "functions/reconcile/",
    "ConsoleFunction": "functions/console/",
    "ImportJobFunction": "functions/import_job/",
    "AuditShipFunction": "functions/audit_ship/",
    "ScimServerFunction": "functions/scim_server/",
}


# --------------------------------------------------------------------------- basics
def test_transform_runtime_and_globals(tpl: dict[str, Any]) -> None:
    assert tpl["Transform"] == "AWS::Serverless-2016-10-31"
    g = tpl["Globals"]["Function"]
    assert g["Runtime"] == "python3.13"  # Amazon Linux 2023; python3.11 ran on Amazon Linux 2 (support ended 2026-06-30)
    assert g["Architectures"] == [{"Ref": "Architecture"}]
    arch = tpl["Parameters"]["Architecture"]
    assert arch["Default"] == "arm64" and set(arch["AllowedValues"]) == {"arm64", "x86_64"}
    assert g["Tracing"] == "Active"
    assert g["Layers"] == [{"Ref": "SharedLayer"}]
    assert isinstance(g["Timeout"], int) and isinstance(g["MemorySize"], int)
    env = g["Environment"]["Variables"]
    assert env["TABLE_NAME"] == {"Ref": "DirectoryTable"}
    assert env["EVENTS_QUEUE_URL"] == {"Ref": "DirectoryEventsQueue"}
    assert env["SSM_PREFIX"] == {"Fn::Sub": "/${AWS::StackName}"}
    assert env["ADMIN_TOKEN_SECRET_ARN"] == {"Ref": "AdminTokenSecret"}
    assert env["PUBLIC_BASE_URL"] == {"Ref": "PublicBaseUrl"}
    assert {"POWERTOOLS_SERVICE_NAME", "LOG_LEVEL"} <= env.keys()


def test_shared_layer(res: dict[str, Any]) -> None:
    layer = res["SharedLayer"]
    assert layer["Type"] == "AWS::Serverless::LayerVersion"
    assert layer["Properties"]["ContentUri"] == "layers/shared/"
    assert layer["Properties"]["CompatibleRuntimes"] == ["python3.13"]
    assert layer["Properties"]["CompatibleArchitectures"] == [{"Ref": "Architecture"}]
    assert layer["Metadata"]["BuildMethod"] == "python3.13"
    assert layer["Metadata"]["BuildArchitecture"] == {"Ref": "Architecture"}
    reqs = (ROOT / "layers/shared/requirements.txt").read_text(encoding="utf-8")
    names = {
        re.split(r"[\[<>=!~; ]", line.strip(), maxsplit=1)[0].lower()
        for line in reqs.splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    }
    # boto3 ships with the layer: the tracer extra brings its own botocore, so pair them.
    assert "boto3" in names
    assert "xmlsec==1.3.17" in reqs and "lxml==6.1.3" in reqs  # pinned together
    # The lock holds the extras' packages: tracer brings aws-xray-sdk, parser pydantic.
    assert "aws-lambda-powertools==3.37.0" in reqs and {"aws-xray-sdk", "pydantic"} <= names
    assert {"python3-saml", "requests", "jinja2", "pydantic", "cryptography", "argon2-cffi"} <= names
    assert "pyyaml" not in names and "moto" not in names  # the local stack's needs stay out of the layer


@pytest.mark.parametrize("fn", sorted(FUNCTIONS))
def test_functions_code_and_handler(tpl: dict[str, Any], fn: str) -> None:
    assert tpl["Resources"][fn]["Type"] == "AWS::Serverless::Function"
    assert fn_prop(tpl, fn, "CodeUri") == FUNCTIONS[fn]
    assert fn_prop(tpl, fn, "Handler") == "app.lambda_handler"


# --------------------------------------------------------------------------- table
def test_table_keys_gsi_ttl_pitr(res: dict[str, Any]) -> None:
    t = res["DirectoryTable"]
    assert t["Type"] == "AWS::DynamoDB::Table"
    assert t["DeletionPolicy"] == "Retain" and t["UpdateReplacePolicy"] == "Retain"
    p = t["Properties"]
    assert p["BillingMode"] == "PAY_PER_REQUEST"
    assert {(k["AttributeName"], k["KeyType"]) for k in p["KeySchema"]} == {("pk", "HASH"), ("sk", "RANGE")}
    types = {a["AttributeName"]: a["AttributeType"] for a in p["AttributeDefinitions"]}
    assert types == {"pk": "S", "sk": "S", "gsi1pk": "S", "gsi1sk": "S", "gsi2pk": "S", "gsi2sk": "S"}
    gsi, audit_by_app = p["GlobalSecondaryIndexes"]
    assert gsi["IndexName"] == "gsi1"
    assert {(k["AttributeName"], k["KeyType"]) for k in gsi["KeySchema"]} == {("gsi1pk", "HASH"), ("gsi1sk", "RANGE")}
    assert gsi["Projection"]["ProjectionType"] == "ALL"
    assert audit_by_app["IndexName"] == "gsi2"
    assert {(k["AttributeName"], k["KeyType"]) for k in audit_by_app["KeySchema"]} == {("gsi2pk", "HASH"), ("gsi2sk", "RANGE")}
    assert p["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert p["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert p["SSESpecification"]["SSEEnabled"] is True


# --------------------------------------------------------------------------- queues
def test_fifo_queue_with_fifo_dlq_and_redrive(res: dict[str, Any]) -> None:
    q = res["DirectoryEventsQueue"]["Properties"]
    assert q["FifoQueue"] is True
    assert q["ContentBasedDeduplication"] is False  # MessageDeduplicationId = event id
    assert q["DeduplicationScope"] == "messageGroup"
    assert q["FifoThroughputLimit"] == "perMessageGroupId"
    assert q["MessageRetentionPeriod"] == 14 * 24 * 3600
    assert q["SqsManagedSseEnabled"] is True
    assert q["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": ["DirectoryEventsDLQ", "Arn"]},
        "maxReceiveCount": 8,
    }
    dlq = res["DirectoryEventsDLQ"]
    assert dlq["Type"] == "AWS::SQS::Queue"
    assert dlq["Properties"]["FifoQueue"] is True  # a FIFO queue's DLQ must be FIFO
    assert dlq["Properties"]["SqsManagedSseEnabled"] is True
    assert dlq["Properties"]["MessageRetentionPeriod"] == 14 * 24 * 3600
    # No fixed names: CloudFormation generates them (and appends .fifo), so stacks can coexist.
    assert "QueueName" not in q and "QueueName" not in dlq["Properties"]


def test_scim_push_sqs_event(tpl: dict[str, Any]) -> None:
    events = tpl["Resources"]["ScimPushFunction"]["Properties"]["Events"]
    sqs = [e["Properties"] for e in events.values() if e["Type"] == "SQS"]
    assert len(sqs) == 1
    (e,) = sqs
    assert e["Queue"] == {"Fn::GetAtt": ["DirectoryEventsQueue", "Arn"]}
    assert e["BatchSize"] == 10
    assert e["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert e["ScalingConfig"] == {"MaximumConcurrency": 5}
    # FIFO event sources do not support a batching window.
    assert "MaximumBatchingWindowInSeconds" not in e


def test_visibility_timeout_at_least_six_times_consumer_timeout(tpl: dict[str, Any]) -> None:
    timeout = fn_prop(tpl, "ScimPushFunction", "Timeout")
    vis = tpl["Resources"]["DirectoryEventsQueue"]["Properties"]["VisibilityTimeout"]
    assert isinstance(timeout, int) and isinstance(vis, int)
    assert vis >= 6 * timeout


def test_only_scim_push_consumes_the_queue(tpl: dict[str, Any]) -> None:
    consumers = {}
    for fn in FUNCTIONS:
        events = tpl["Resources"][fn]["Properties"].get("Events", {})
        for e in events.values():
            if e["Type"] == "SQS":
                consumers[fn] = e["Properties"]["Queue"]["Fn::GetAtt"][0]
    assert consumers == {"ScimPushFunction": "DirectoryEventsQueue", "ImportJobFunction": "ImportJobQueue"}


def test_the_csv_import_job_has_its_own_queue_dlq_and_least_privilege(tpl: dict[str, Any]) -> None:
    res = tpl["Resources"]
    q = res["ImportJobQueue"]["Properties"]
    assert q["RedrivePolicy"] == {"deadLetterTargetArn": {"Fn::GetAtt": ["ImportJobDLQ", "Arn"]}, "maxReceiveCount": 5}
    assert q["SqsManagedSseEnabled"] is True and res["ImportJobDLQ"]["Properties"]["SqsManagedSseEnabled"] is True
    assert q["VisibilityTimeout"] >= 6 * fn_prop(tpl, "ImportJobFunction", "Timeout")
    env = fn_prop(tpl, "ImportJobFunction", "Environment")["Variables"]
    assert env["IMPORT_MAX_RECEIVE_COUNT"] == str(q["RedrivePolicy"]["maxReceiveCount"])
    assert tpl["Globals"]["Function"]["Environment"]["Variables"]["IMPORT_QUEUE_URL"] == {"Ref": "ImportJobQueue"}
    (sqs,) = [e["Properties"] for e in fn_prop(tpl, "ImportJobFunction", "Events").values() if e["Type"] == "SQS"]
    assert sqs["FunctionResponseTypes"] == ["ReportBatchItemFailures"] and sqs["ScalingConfig"] == {"MaximumConcurrency": 5}
    statements = [s for p in fn_prop(tpl, "ImportJobFunction", "Policies") for s in p.get("Statement", [])]
    writes, mail = statements
    keys = writes["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]
    assert sorted(keys) == ["AUDIT#*", "OUTBOX", "PWLINK#*", "RELEASED#*", "SESSIONEPOCH#*", "UNIQUE#*", "USER#*", "USERIMPORT#*"]
    # the activation emails of an import confirmed with send_activation, from the sender only
    assert mail["Action"] == "ses:SendEmail" and mail["Condition"] == {"StringEquals": {"ses:FromAddress": {"Ref": "MailSender"}}}


def test_reconcile_schedule_is_a_parameter(tpl: dict[str, Any]) -> None:
    assert tpl["Parameters"]["ReconcileSchedule"]["Default"] == "rate(1 hour)"
    events = tpl["Resources"]["ReconcileFunction"]["Properties"]["Events"]
    schedules = {name: e["Properties"] for name, e in events.items() if e["Type"] == "Schedule"}
    assert schedules["Schedule"]["Schedule"] == {"Ref": "ReconcileSchedule"}
    # The outbox relay runs every minute, so a change whose publish failed is not held for an hour.
    assert schedules["OutboxRelay"]["Schedule"] == "rate(1 minute)"
    assert '"outbox"' in schedules["OutboxRelay"]["Input"]


# --------------------------------------------------------------------------- routes
# (method, path, function). "ANY" in the template covers every method on that path.
CONTRACT_ROUTES: list[tuple[str, str, str]] = [
    ("GET", "/healthz", "AdminApiFunction"),
    # users
    ("POST", "/admin/users", "AdminApiFunction"),
    ("GET", "/admin/users", "AdminApiFunction"),
    ("GET", "/admin/users/{id}", "AdminApiFunction"),
    ("PATCH", "/admin/users/{id}", "AdminApiFunction"),
    ("DELETE", "/admin/users/{id}", "AdminApiFunction"),
    # groups
    ("POST", "/admin/groups", "AdminApiFunction"),
    ("GET", "/admin/groups", "AdminApiFunction"),
    ("GET", "/admin/groups/{id}", "AdminApiFunction"),
    ("PATCH", "/admin/groups/{id}", "AdminApiFunction"),
    ("DELETE", "/admin/groups/{id}", "AdminApiFunction"),
    ("GET", "/admin/groups/{id}/members", "AdminApiFunction"),
    ("PUT", "/admin/groups/{id}/members/{user_id}", "AdminApiFunction"),
    ("DELETE", "/admin/groups/{id}/members/{user_id}", "AdminApiFunction"),
    # apps
    ("POST", "/admin/apps", "AdminApiFunction"),
    ("GET", "/admin/apps", "AdminApiFunction"),
    ("GET", "/admin/apps/{slug}", "AdminApiFunction"),
    ("PATCH", "/admin/apps/{slug}", "AdminApiFunction"),
    ("DELETE", "/admin/apps/{slug}", "AdminApiFunction"),
    ("PUT", "/admin/apps/{slug}/users/{user_id}", "AdminApiFunction"),
    ("DELETE", "/admin/apps/{slug}/users/{user_id}", "AdminApiFunction"),
    ("PUT", "/admin/apps/{slug}/groups/{group_id}", "AdminApiFunction"),
    ("DELETE", "/admin/apps/{slug}/groups/{group_id}", "AdminApiFunction"),
    # provisioning (test, sync, users/{user_id}/sync, log, status go through {proxy+})
    ("PUT", "/admin/apps/{slug}/provisioning", "AdminApiFunction"),
    ("POST", "/admin/apps/{slug}/provisioning/{proxy+}", "AdminApiFunction"),
    ("GET", "/admin/apps/{slug}/provisioning/{proxy+}", "AdminApiFunction"),
    # signing keys (rotation)
    ("GET", "/admin/apps/{slug}/keys", "AdminApiFunction"),
    ("POST", "/admin/apps/{slug}/keys", "AdminApiFunction"),
    ("POST", "/admin/apps/{slug}/keys/{proxy+}", "AdminApiFunction"),  # {kid}/activate
    ("DELETE", "/admin/apps/{slug}/keys/{proxy+}", "AdminApiFunction"),  # {kid}
    # SAML, public
    ("GET", "/saml2/{slug}/metadata", "SamlMetadataFunction"),
    ("GET", "/saml2/{slug}/certificate.pem", "SamlMetadataFunction"),
    ("GET", "/saml2/{slug}", "SamlLoginFunction"),
    ("POST", "/saml2/{slug}", "SamlLoginFunction"),
    ("GET", "/saml2/{slug}/slo", "SamlLoginFunction"),
    ("POST", "/saml2/{slug}/slo", "SamlLoginFunction"),
    ("GET", "/login", "SamlLoginFunction"),
    ("POST", "/login", "SamlLoginFunction"),
    ("POST", "/logout", "SamlLoginFunction"),
    ("GET", "/", "SamlLoginFunction"),
    # multi-factor sign-in (section 7)
    ("GET", "/admin/mfa", "AdminApiFunction"),
    ("PUT", "/admin/mfa", "AdminApiFunction"),
    ("GET", "/admin/users/{id}/mfa", "AdminApiFunction"),
    ("DELETE", "/admin/users/{id}/mfa", "AdminApiFunction"),
    # the password policy (section 9)
    ("GET", "/admin/password-policy", "AdminApiFunction"),
    ("PUT", "/admin/password-policy", "AdminApiFunction"),
    ("GET", "/account", "SamlLoginFunction"),
    ("POST", "/account/{proxy+}", "SamlLoginFunction"),
    ("POST", "/account/password", "AdminApiFunction"),
    # the password lifecycle (section 9): the forms from the login function, their submissions to the admin function
    ("GET", "/password/{proxy+}", "SamlLoginFunction"),
    ("POST", "/password/{proxy+}", "AdminApiFunction"),
    ("POST", "/login/{proxy+}", "SamlLoginFunction"),
    ("GET", "/static/{proxy+}", "SamlLoginFunction"),
    # the admin console (section 6)
    ("ANY", "/scim/v2/{proxy+}", "ScimServerFunction"),  # the identity sources' SCIM server (section 10)
    ("GET", "/console", "ConsoleFunction"),
    ("POST", "/console", "ConsoleFunction"),
    ("GET", "/console/{proxy+}", "ConsoleFunction"),
    ("POST", "/console/{proxy+}", "ConsoleFunction"),
]


def http_routes(tpl: dict[str, Any]) -> list[tuple[str, str, str]]:
    out = []
    for name, r in tpl["Resources"].items():
        if r["Type"] != "AWS::Serverless::Function":
            continue
        for ev in r["Properties"].get("Events", {}).values():
            if ev["Type"] == "HttpApi":
                p = ev["Properties"]
                assert p["ApiId"] == {"Ref": "HttpApi"}, name
                out.append((p["Method"].upper(), p["Path"], name))
    return out


@pytest.mark.parametrize(("method", "path", "fn"), CONTRACT_ROUTES, ids=[f"{m} {p}" for m, p, _ in CONTRACT_ROUTES])
def test_contract_route_present(tpl: dict[str, Any], method: str, path: str, fn: str) -> None:
    matches = {f for m, p, f in http_routes(tpl) if p == path and m in (method, "ANY")}
    assert matches == {fn}, f"{method} {path} -> {matches or 'no route'}"


def test_no_duplicate_route_keys(tpl: dict[str, Any]) -> None:
    keys = [(m, p) for m, p, _ in http_routes(tpl)]
    assert len(keys) == len(set(keys))
    for path in {p for _, p in keys}:  # API Gateway rejects ANY next to an explicit method
        methods = {m for m, p in keys if p == path}
        assert "ANY" not in methods or methods == {"ANY"}, path


def test_every_admin_path_reaches_admin_api(tpl: dict[str, Any]) -> None:
    for _, path, fn in http_routes(tpl):
        if path.startswith("/admin"):
            assert fn == "AdminApiFunction", path
    assert ("ANY", "/admin/{proxy+}", "AdminApiFunction") in http_routes(tpl)


def test_http_api_resource(res: dict[str, Any]) -> None:
    api = res["HttpApi"]
    assert api["Type"] == "AWS::Serverless::HttpApi"
    fmt = api["Properties"]["AccessLogSettings"]["Format"]
    assert "queryString" not in fmt and "$context.path" in fmt  # no SAMLRequest in logs


# --------------------------------------------------------------------------- policies
def policy_summary(tpl: dict[str, Any], fn: str) -> list[tuple[str, Any]]:
    """[(template name, its argument)], inline documents as ("Inline", sorted actions)."""
    out: list[tuple[str, Any]] = []
    for p in tpl["Resources"][fn]["Properties"].get("Policies", []):
        assert isinstance(p, dict), f"{fn}: managed policy names/ARNs are not least privilege: {p}"
        if "Statement" in p:
            actions = sorted(a for s in p["Statement"] for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"]))
            out.append(("Inline", actions))
            continue
        ((name, arg),) = p.items()
        out.append((name, arg))
    return out


TABLE = {"TableName": {"Ref": "DirectoryTable"}}
QUEUE = {"QueueName": {"Fn::GetAtt": ["DirectoryEventsQueue", "QueueName"]}}
IMPORT_QUEUE = {"QueueName": {"Fn::GetAtt": ["ImportJobQueue", "QueueName"]}}
SIGNING_KEYS_SSM = {"ParameterName": {"Fn::Sub": "${AWS::StackName}/apps/*/signing-keys/*"}}
SCIM_TOKENS_SSM = {"ParameterName": {"Fn::Sub": "${AWS::StackName}/apps/*/scim-token"}}

EXPECTED_POLICIES: dict[str, list[tuple[str, Any]]] = {
    "AdminApiFunction": [
        ("DynamoDBCrudPolicy", TABLE),
        ("SQSSendMessagePolicy", QUEUE),
        ("SQSSendMessagePolicy", IMPORT_QUEUE),  # a confirmed CSV import's job
        ("AWSSecretsManagerGetSecretValuePolicy", {"SecretArn": {"Ref": "AdminTokenSecret"}}),
        ("SSMParameterReadPolicy", SCIM_TOKENS_SSM),  # reads SCIM tokens only; creates keys without reading them
        ("Inline", ["ssm:DescribeParameters"]),  # names (no values) of a deleted app's secrets
        ("Inline", ["ssm:DeleteParameter", "ssm:DeleteParameters", "ssm:PutParameter"]),
        ("Inline", ["ses:SendEmail"]),  # notices to a user whose factors an administrator reset
    ],
    "SamlMetadataFunction": [
        ("DynamoDBReadPolicy", TABLE),
    ],
    "SamlLoginFunction": [
        ("DynamoDBReadPolicy", TABLE),
        # its own item kinds, then audit events it may only add (two statements)
        ("Inline", ["dynamodb:BatchWriteItem", "dynamodb:BatchWriteItem", "dynamodb:DeleteItem", "dynamodb:PutItem",
                    "dynamodb:PutItem", "dynamodb:UpdateItem"]),
        ("SSMParameterReadPolicy", SIGNING_KEYS_SSM),
        ("Inline", ["ses:SendEmail"]),  # notices of a sign-in method added or removed
    ],
    "ScimPushFunction": [
        ("DynamoDBCrudPolicy", TABLE),
        ("SQSPollerPolicy", QUEUE),
        ("SQSSendMessagePolicy", QUEUE),
        ("SSMParameterReadPolicy", SCIM_TOKENS_SSM),
    ],
    "ReconcileFunction": [
        ("DynamoDBCrudPolicy", TABLE),
        ("SQSSendMessagePolicy", QUEUE),
        ("SSMParameterReadPolicy", SCIM_TOKENS_SSM),
    ],
    # The identity sources' SCIM server writes users and groups through the directory service (outbox, events).
    "ScimServerFunction": [
        ("DynamoDBCrudPolicy", TABLE),
        ("SQSSendMessagePolicy", QUEUE),
    ],
    # The console calls the admin API's services (signing keys, SCIM tokens), authenticated by the IdP
    # session instead of the admin token; it reads the queues' depths for its dashboard.
    # Applies a confirmed CSV import: reads the directory, writes what creating or updating a user writes.
    "ImportJobFunction": [
        ("DynamoDBReadPolicy", TABLE),
        ("Inline", ["dynamodb:BatchWriteItem", "dynamodb:ConditionCheckItem", "dynamodb:DeleteItem", "dynamodb:PutItem",
                    "dynamodb:UpdateItem", "ses:SendEmail"]),
        ("SQSPollerPolicy", IMPORT_QUEUE),
        ("SQSSendMessagePolicy", QUEUE),
    ],
    # Writes the SSO's shipped audit events: only adds AUDIT# day shards, reads nothing.
    "AuditShipFunction": [
        ("Inline", ["dynamodb:BatchWriteItem", "dynamodb:PutItem"]),
    ],
    "ConsoleFunction": [
        ("DynamoDBReadPolicy", TABLE),
        # writes limited by leading key to what its pages change; DeleteItem also on SESSION# (a stale session)
        ("Inline", ["dynamodb:BatchWriteItem", "dynamodb:DeleteItem", "dynamodb:DeleteItem", "dynamodb:PutItem",
                    "dynamodb:UpdateItem"]),
        ("SQSSendMessagePolicy", QUEUE),
        ("SQSSendMessagePolicy", IMPORT_QUEUE),  # a CSV import confirmed on the console
        ("SSMParameterReadPolicy", SCIM_TOKENS_SSM),  # never a private key (tests/package proves it)
        ("Inline", ["ssm:DescribeParameters"]),
        ("Inline", ["ssm:DeleteParameter", "ssm:DeleteParameters", "ssm:PutParameter"]),
        ("Inline", ["sqs:GetQueueAttributes"]),
        ("Inline", ["ses:SendEmail"]),
    ],
}


@pytest.mark.parametrize("fn", sorted(FUNCTIONS))
def test_function_policies(tpl: dict[str, Any], fn: str) -> None:
    assert sorted(policy_summary(tpl, fn), key=repr) == sorted(EXPECTED_POLICIES[fn], key=repr)


def test_ssm_write_is_scoped_to_the_stack_apps_path(tpl: dict[str, Any]) -> None:
    for fn in FUNCTIONS:
        for p in tpl["Resources"][fn]["Properties"].get("Policies", []):
            for s in p.get("Statement", []):
                assert s["Effect"] == "Allow"
                if s["Action"] == "ssm:DescribeParameters":  # names only, never values; IAM scopes it to no resource
                    assert fn in ("AdminApiFunction", "ConsoleFunction") and s["Resource"] == "*"
                    continue
                if any(str(a).startswith("ssm:") for a in s["Action"]) or str(s["Action"]).startswith("ssm:"):
                    assert s["Resource"] == {
                        "Fn::Sub": "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter/${AWS::StackName}/apps/*"
                    }
                    assert fn in ("AdminApiFunction", "ConsoleFunction")
    # A fixed Role would bypass Policies: SAM must build one role per function.
    assert "Role" not in tpl["Globals"]["Function"]
    assert not any("Role" in tpl["Resources"][fn]["Properties"] for fn in FUNCTIONS)


# --------------------------------------------------------------------------- secrets
SECRETISH = re.compile(r"(secret|token|password|passwd|private|api_?key|credential)", re.I)
PEM = re.compile(r"-----BEGIN [A-Z ]*(PRIVATE KEY|CERTIFICATE)-----")


def _walk(node: Any, path: str = ""):
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _walk(v, f"{path}.{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _walk(v, f"{path}[{i}]")
    else:
        yield path, node


def test_admin_token_is_generated_not_written(res: dict[str, Any]) -> None:
    s = res["AdminTokenSecret"]
    assert s["Type"] == "AWS::SecretsManager::Secret"
    p = s["Properties"]
    assert "SecretString" not in p
    assert p["GenerateSecretString"]["PasswordLength"] == 48
    assert p["GenerateSecretString"]["ExcludePunctuation"] is True


def test_no_plain_secret_values(tpl: dict[str, Any]) -> None:
    text = TEMPLATE.read_text(encoding="utf-8")
    assert not PEM.search(text)
    assert not re.search(r"(?<!Generate)SecretString\s*:", text)  # literal secret values
    assert "{{resolve:" not in text  # no dynamic refs pulling secrets into properties either
    # Environment variables named like secrets carry references (ARNs, names), never values.
    envs = [tpl["Globals"]["Function"].get("Environment", {})]
    envs += [r["Properties"].get("Environment", {}) for r in tpl["Resources"].values() if r["Type"].endswith("::Function")]
    for env in envs:
        for name, value in env.get("Variables", {}).items():
            if SECRETISH.search(name):
                assert isinstance(value, dict), f"{name} holds a literal: {value!r}"
    # Parameters that look like secrets must be NoEcho (there are none today).
    for name, p in tpl.get("Parameters", {}).items():
        if SECRETISH.search(name):
            assert p.get("NoEcho") is True, name
    # CloudFormation cannot create SecureString parameters: keys/tokens are written at runtime.
    assert not any(r["Type"] == "AWS::SSM::Parameter" for r in tpl["Resources"].values())
    # Nothing that looks like a long random literal (token-ish) anywhere in the template.
    for path, value in _walk(tpl):
        if isinstance(value, str) and re.fullmatch(r"[A-Za-z0-9+/_=-]{32,}", value):
            mixed = sum(c.isdigit() for c in value) >= 3 and re.search("[a-z]", value) and re.search("[A-Z]", value)
            assert not mixed, f"{path} looks like a secret literal"


# --------------------------------------------------------------------------- alarms/outputs
def test_alarms(tpl: dict[str, Any]) -> None:
    alarms = {k: r["Properties"] for k, r in tpl["Resources"].items() if r["Type"] == "AWS::CloudWatch::Alarm"}
    for queue in ("DirectoryEventsDLQ", "ImportJobDLQ", "AuditShipDLQ"):
        dlq = [
            a for a in alarms.values()
            if a["MetricName"] == "ApproximateNumberOfMessagesVisible"
            and a["Dimensions"] == [{"Name": "QueueName", "Value": {"Fn::GetAtt": [queue, "QueueName"]}}]
        ]
        assert len(dlq) == 1, queue
        assert dlq[0]["Threshold"] == 0 and dlq[0]["ComparisonOperator"] == "GreaterThanThreshold"
    errors = {
        a["Dimensions"][0]["Value"]["Ref"] for a in alarms.values()
        if a["Namespace"] == "AWS/Lambda" and a["MetricName"] == "Errors"
    }
    assert errors == set(FUNCTIONS)
    assert "HasAlarmTopic" in tpl["Conditions"]
    for a in alarms.values():
        assert a["AlarmActions"] == {"Fn::If": ["HasAlarmTopic", [{"Ref": "AlarmTopicArn"}], {"Ref": "AWS::NoValue"}]}


def test_outputs(tpl: dict[str, Any]) -> None:
    out = tpl["Outputs"]
    assert {"ApiUrl", "TableName", "EventsQueueUrl", "DlqUrl", "AdminTokenSecretArn"} <= out.keys()
    assert out["TableName"]["Value"] == {"Ref": "DirectoryTable"}
    assert out["EventsQueueUrl"]["Value"] == {"Ref": "DirectoryEventsQueue"}
    assert out["DlqUrl"]["Value"] == {"Ref": "DirectoryEventsDLQ"}
    assert out["AdminTokenSecretArn"]["Value"] == {"Ref": "AdminTokenSecret"}
    with_domain, without = out["ApiUrl"]["Value"]["Fn::If"][1:]
    assert "${DomainName}" in with_domain["Fn::Sub"] and "${HttpApi}" in without["Fn::Sub"]


def test_the_internet_facing_login_writes_only_its_own_items(tpl: dict[str, Any]) -> None:
    """The login function reads the directory but may write only sessions, login state, the replay
    cache and throttles: a bug or an injection there cannot rewrite users, apps or SCIM state."""
    statements = [s for p in tpl["Resources"]["SamlLoginFunction"]["Properties"]["Policies"] for s in p.get("Statement", [])]
    own, audit = [s for s in statements if "dynamodb:PutItem" in s["Action"]]
    keys = own["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]
    assert sorted(keys) == ["LOGIN#*", "MFA#*", "SAMLREQ#*", "SESSION#*", "THROTTLE#*"]
    # audit events: only added, and only under a day's shard (idp.adapters.audit_log)
    assert sorted(audit["Action"]) == ["dynamodb:BatchWriteItem", "dynamodb:PutItem"]
    assert audit["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"] == ["AUDIT#????-??-??#?"]
    assert not any(k.startswith(("USER#", "APP#", "GROUP#", "UNIQUE#", "OUTBOX")) for k in keys)


def test_secrets_are_split_by_who_needs_them(tpl: dict[str, Any]) -> None:
    def ssm_reads(fn):
        return [arg["ParameterName"]["Fn::Sub"] for name, arg in policy_summary(tpl, fn) if name == "SSMParameterReadPolicy"]

    assert ssm_reads("SamlLoginFunction") == ["${AWS::StackName}/apps/*/signing-keys/*"]  # never a SCIM token
    assert ssm_reads("ScimPushFunction") == ["${AWS::StackName}/apps/*/scim-token"]  # never a private key
    assert ssm_reads("ReconcileFunction") == ["${AWS::StackName}/apps/*/scim-token"]
    assert ssm_reads("ConsoleFunction") == ["${AWS::StackName}/apps/*/scim-token"]
    assert ssm_reads("SamlMetadataFunction") == []


def test_public_routes_are_throttled(tpl: dict[str, Any]) -> None:
    props = tpl["Resources"]["HttpApi"]["Properties"]
    assert props["DefaultRouteSettings"]["ThrottlingRateLimit"] > 0
    login = props["RouteSettings"]["POST /login"]
    assert 0 < login["ThrottlingRateLimit"] < props["DefaultRouteSettings"]["ThrottlingRateLimit"]
    passwords = props["RouteSettings"]["POST /password/{proxy+}"]  # reset emails and new passwords (argon2id)
    assert 0 < passwords["ThrottlingRateLimit"] <= login["ThrottlingRateLimit"]
    assert ("POST", "/password/{proxy+}", "AdminApiFunction") in http_routes(tpl)
    reserved = tpl["Resources"]["SamlLoginFunction"]["Properties"]["ReservedConcurrentExecutions"]
    assert reserved["Fn::If"][0] == "HasLoginReservation"


def test_an_optional_custom_domain_fronts_the_api(tpl: dict[str, Any]) -> None:
    res = tpl["Resources"]
    assert res["ApiDomain"]["Condition"] == "HasCustomDomain"
    assert res["ApiDomainMapping"]["Properties"]["ApiId"] == {"Ref": "HttpApi"}
    assert res["ApiDomainRecord"]["Condition"] == "HasHostedZone"
    env = tpl["Globals"]["Function"]["Environment"]["Variables"]
    assert env["CUSTOM_DOMAIN"] == {"Ref": "DomainName"} and env["PUBLIC_BASE_URL"] == {"Ref": "PublicBaseUrl"}


# --------------------------------------------------------------------------- events/
KINDS = [
    "user.created", "user.updated", "user.deleted",
    "group.created", "group.updated", "group.deleted", "group.members_changed",
    "app.access_changed", "app.sync",
]


@pytest.mark.parametrize("kind", KINDS)
def test_directory_event_samples(kind: str) -> None:
    body = json.loads((EVENTS / "directory" / f"{kind}.json").read_text(encoding="utf-8"))
    assert body["type"] == kind
    assert isinstance(body["id"], str) and body["id"]
    assert set(body) <= {"type", "id", "app", "version", "at"}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)", body["at"])
    if kind.startswith("app."):
        assert body["app"]
    if "version" in body:
        assert isinstance(body["version"], int)


def test_sqs_batch_sample_is_a_fifo_event() -> None:
    event = json.loads((EVENTS / "sqs_batch.json").read_text(encoding="utf-8"))
    assert len(event["Records"]) >= 2
    for r in event["Records"]:
        assert r["eventSource"] == "aws:sqs" and r["eventSourceARN"].endswith(".fifo")
        attrs = r["attributes"]
        assert {"MessageGroupId", "SequenceNumber", "MessageDeduplicationId"} <= attrs.keys()
        body = json.loads(r["body"])
        assert body["type"] in KINDS
        assert attrs["MessageGroupId"] == body["id"]  # group = the entity id
        assert r["md5OfBody"] == hashlib.md5(r["body"].encode()).hexdigest()
    assert len({r["messageId"] for r in event["Records"]}) == len(event["Records"])


def test_samples_parse_with_powertools_models() -> None:
    parser = pytest.importorskip("aws_lambda_powertools.utilities.parser")
    models = pytest.importorskip("aws_lambda_powertools.utilities.parser.models")
    sqs = parser.parse(json.loads((EVENTS / "sqs_batch.json").read_text()), model=models.SqsModel)
    assert sqs.Records[0].attributes.MessageGroupId
    http = parser.parse(json.loads((EVENTS / "http_saml_metadata.json").read_text()), model=models.APIGatewayProxyEventV2Model)
    assert http.routeKey == "GET /saml2/{slug}/metadata" and http.pathParameters == {"slug": "officespace"}
    sched = parser.parse(json.loads((EVENTS / "reconcile_schedule.json").read_text()), model=models.EventBridgeModel)
    assert sched.detail_type == "Scheduled Event"


def test_push_function_knows_the_queue_max_receive_count(tpl: dict[str, Any]) -> None:
    redrive = tpl["Resources"]["DirectoryEventsQueue"]["Properties"]["RedrivePolicy"]
    env = tpl["Resources"]["ScimPushFunction"]["Properties"]["Environment"]["Variables"]
    assert int(env["EVENTS_MAX_RECEIVE_COUNT"]) == int(redrive["maxReceiveCount"])


def test_deployed_stack_never_relaxes_cookies() -> None:
    # IDP_INSECURE_COOKIES is only for the local stack on a LAN address over plain http.
    assert "IDP_INSECURE_COOKIES" not in (ROOT / "template.yaml").read_text(encoding="utf-8")



def test_every_checkov_skip_says_why(tpl: dict[str, Any]) -> None:
    """make lint runs checkov on this template; a check skipped in a resource's Metadata carries its reason."""
    skips = [(lid, s) for lid, r in tpl["Resources"].items()
             for s in (r.get("Metadata") or {}).get("checkov", {}).get("skip", [])]
    assert skips, "checkov's skips are in the template"
    for lid, skip in skips:
        assert re.fullmatch(r"CKV2?_AWS_\d+", skip["id"]), (lid, skip)
        assert len(skip.get("comment", "")) >= 40, f"{lid} skips {skip['id']} without a reason"
    # The one false positive: the queues are encrypted (SSE-SQS), which CKV_AWS_27 does not recognise.
    for q in ("DirectoryEventsQueue", "DirectoryEventsDLQ"):
        assert tpl["Resources"][q]["Properties"]["SqsManagedSseEnabled"] is True


# --------------------------------------------------------------------------- the SSO's audit events shipped as log lines
def test_the_login_log_group_ships_only_audit_lines_to_the_audit_ship_function(tpl: dict[str, Any]) -> None:
    res = tpl["Resources"]
    assert fn_prop(tpl, "SamlLoginFunction", "Environment")["Variables"]["AUDIT_SSO_DELIVERY"] == "log"
    for fn in FUNCTIONS:  # the login function's SSO only: every other function writes its events directly
        if fn != "SamlLoginFunction":
            assert "AUDIT_SSO_DELIVERY" not in (fn_prop(tpl, fn, "Environment") or {}).get("Variables", {}), fn
    assert "AUDIT_SSO_DELIVERY" not in tpl["Globals"]["Function"]["Environment"]["Variables"]
    assert "AUDIT_SPOOL_PATH" not in json.dumps(tpl)  # the spool is the local stack's, never AWS's
    (sub,) = [(k, r) for k, r in res.items() if r["Type"] == "AWS::Logs::SubscriptionFilter"]
    name, sub = sub
    assert sub["Properties"]["LogGroupName"] == {"Ref": "SamlLoginLogGroup"}
    assert sub["Properties"]["DestinationArn"] == {"Fn::GetAtt": ["AuditShipFunction", "Arn"]}
    assert "$.idp_audit.pk" in sub["Properties"]["FilterPattern"]
    (perm,) = [r for r in res.values() if r["Type"] == "AWS::Lambda::Permission"
               and r["Properties"]["Principal"] == "logs.amazonaws.com"]
    assert sub["DependsOn"] in ([k for k, r in res.items() if r is perm][0], [[k for k, r in res.items() if r is perm][0]])
    assert perm["Properties"]["FunctionName"] == {"Fn::GetAtt": ["AuditShipFunction", "Arn"]}
    assert perm["Properties"]["SourceArn"] == {"Fn::GetAtt": ["SamlLoginLogGroup", "Arn"]}
    assert perm["Properties"]["Action"] == "lambda:InvokeFunction"
    # invoked asynchronously: a failing batch is retried, then kept in its DLQ
    assert fn_prop(tpl, "AuditShipFunction", "DeadLetterQueue") == {"Type": "SQS",
                                                                    "TargetArn": {"Fn::GetAtt": ["AuditShipDLQ", "Arn"]}}
    assert fn_prop(tpl, "AuditShipFunction", "EventInvokeConfig")["MaximumRetryAttempts"] == 2
    (statement,) = fn_prop(tpl, "AuditShipFunction", "Policies")[0]["Statement"]
    assert statement["Condition"] == {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["AUDIT#????-??-??#?"]}}
    assert statement["Resource"] == {"Fn::GetAtt": ["DirectoryTable", "Arn"]}
