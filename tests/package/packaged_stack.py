"""The packaged smoke tests' shared parts: where the x86_64 build is, the sample events, Ref/GetAtt/Sub against the
embedded AWS's resources, and each function's role rendered from template.yaml (the fixtures are in conftest.py)."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / ".aws-sam" / "build-x86_64"
EVENTS = ROOT / "events"
RUNTIME = Path(__file__).with_name("lambda_runtime.py")
STACK, REGION = "pkg", "us-east-1"
ADMIN_TOKEN = "pkg-admin-token-5a4b3c2d1e0f"
CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
SMOKE_TESTED = {"AdminApiFunction", "SamlMetadataFunction", "SamlLoginFunction", "ScimPushFunction", "ReconcileFunction",
                "ConsoleFunction", "ScimServerFunction", "ImportJobFunction", "AuditShipFunction"}


def sample(name: str) -> dict:
    return json.loads((EVENTS / name).read_text())


def resolve(value, names: dict):
    """Ref, Fn::GetAtt and Fn::Sub against the moto resources; an unknown name is a KeyError on purpose."""
    if isinstance(value, dict) and len(value) == 1:
        (key, arg), = value.items()
        if key == "Ref":
            return names[arg]
        if key == "Fn::GetAtt":
            return names[".".join(arg) if isinstance(arg, list) else arg]
        if key == "Fn::Sub" and isinstance(arg, str):
            return re.sub(r"\$\{([^}]+)\}", lambda m: str(names[m[1]]), arg)
        if key == "Fn::Sub" and isinstance(arg, list):  # [template, {variable: value}]
            local = {**names, **{k: resolve(v, names) for k, v in arg[1].items()}}
            return re.sub(r"\$\{([^}]+)\}", lambda m: str(local[m[1]]), arg[0])
    if isinstance(value, dict):
        return {k: resolve(v, names) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, names) for v in value]
    return value


def rendered_roles() -> dict[str, list[dict]]:
    """Each function's role statements as CloudFormation gets them: template.yaml through samtranslator (SAM's
    policy templates expanded), for this stack's parameters. Keyed by the function's logical id."""
    from samtranslator.translator.transform import transform
    from samtranslator.yaml_helper import yaml_parse

    class NoManagedPolicies:
        def load(self):
            return {}

    source = yaml_parse((ROOT / "template.yaml").read_text())
    for res in source["Resources"].values():  # samtranslator wants S3 locations; the code is not what it reads
        props = res.get("Properties", {})
        for key in ("CodeUri", "ContentUri"):
            if key in props:
                props[key] = "s3://bucket/key"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AWS_DEFAULT_REGION", REGION)
        out = transform(source, {"AWS::StackName": STACK, "AWS::Region": REGION}, NoManagedPolicies())
    roles = {}
    for lid, res in source["Resources"].items():
        if res["Type"] == "AWS::Serverless::Function":
            role = out["Resources"][f"{lid}Role"]["Properties"]
            roles[lid] = [st for policy in role.get("Policies", []) for st in policy["PolicyDocument"]["Statement"]]
    return roles
