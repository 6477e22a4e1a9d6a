"""The `package` marker: tests that run or read the artifacts `make build` produced (.aws-sam/build, arm64, and .aws-sam/build-x86_64).
The fixtures of the packaged runs (test_packaged_*.py): the built template, one embedded AWS holding its resources
for the whole session (moto's backends live in the process: a second server would see the first one's tables),
the roles rendered from template.yaml, and `invoke`, which runs a built function under its role."""
from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from packaged_stack import ADMIN_TOKEN, BUILD, CREDENTIALS, REGION, RUNTIME, STACK, rendered_roles, resolve


def pytest_configure(config):
    config.addinivalue_line("markers", "package: runs or reads the built Lambda packages in .aws-sam (`make build` first)")


@pytest.fixture(scope="session")
def template() -> dict:
    # No skip: pytest alone never builds, and a missing build must fail CI rather than pass it quietly.
    if not (BUILD / "template.yaml").is_file():
        pytest.fail(f"{BUILD} has no template.yaml: run `make build` (sam build) first")
    return yaml.safe_load((BUILD / "template.yaml").read_text())  # sam writes intrinsics in long form


@pytest.fixture(scope="session")
def stack(template):
    """moto over HTTP holding the template's resources, created as the local stack creates them;
    yields (endpoint, what each Ref resolves to)."""
    from idp_local.moto_server import EmbeddedAws
    from idp_local.resources import create_from_template

    server = EmbeddedAws(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    with pytest.MonkeyPatch.context() as mp:
        for key, value in {"AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": CREDENTIALS["aws_access_key_id"],
                           "AWS_SECRET_ACCESS_KEY": CREDENTIALS["aws_secret_access_key"]}.items():
            mp.setenv(key, value)
        res = create_from_template(template, STACK, ADMIN_TOKEN, region=REGION)
    names = {"AWS::StackName": STACK, "AWS::Region": REGION, "AWS::AccountId": "123456789012",
             "AWS::Partition": "aws", "AWS::URLSuffix": "amazonaws.com",
             "DirectoryTable": res.table_name, "DirectoryEventsQueue": res.queue_url,
             "DirectoryEventsDLQ": res.dlq_url, "AdminTokenSecret": res.admin_token_secret_arn,
             "DirectoryEventsQueue.Arn": res.queue_arn,
             "DirectoryTable.Arn": f"arn:aws:dynamodb:{REGION}:123456789012:table/{res.table_name}",
             "DirectoryEventsQueue.QueueName": res.queue_url.rsplit("/", 1)[-1],
             "DirectoryEventsDLQ.QueueName": res.dlq_url.rsplit("/", 1)[-1],
             "DirectoryEventsDLQ.Arn": f"arn:aws:sqs:{REGION}:123456789012:{res.dlq_url.rsplit('/', 1)[-1]}",
             "ImportJobQueue": res.import_queue_url, "ImportJobQueue.Arn": res.import_queue_arn,
             "ImportJobQueue.QueueName": res.import_queue_url.rsplit("/", 1)[-1],
             # AuditShipFunction's on-failure DLQ: its role may send to it; nothing here invokes it asynchronously
             "AuditShipDLQ.Arn": f"arn:aws:sqs:{REGION}:123456789012:{STACK}-AuditShipDLQ"}
    # A Ref to a parameter is its value as a string (a Number parameter too), as CloudFormation gives it.
    names.update({name: str(spec.get("Default", "")) for name, spec in template.get("Parameters", {}).items()})
    yield endpoint, names
    server.stop()


@pytest.fixture(scope="session")
def roles(stack) -> dict[str, list[dict]]:
    _, names = stack
    return {lid: resolve(statements, names) for lid, statements in rendered_roles().items()}


@pytest.fixture
def invoke(template, stack, tmp_path, roles):
    """invoke(logical id, [events]) -> the handler's results, from a fresh interpreter that sees only the package,
    every AWS call authorized against the function's own role (`roles`; `invoke.roles` may be changed by a test).
    `invoke.decisions[lid]` holds what IAM decided for each call of the last run of `lid`, `invoke.stdout[lid]` what it
    printed."""
    endpoint, names = stack
    globals_ = template.get("Globals", {}).get("Function", {})

    def run(lid: str, events: list[dict], fails: bool = False) -> list:
        """`fails`: the invocation is expected to fail (as Lambda's does when the handler raises); then the
        answers of the events before the failure are returned and `run.error` holds the traceback."""
        props = template["Resources"][lid]["Properties"]
        layers = globals_.get("Layers", []) + props.get("Layers", [])
        # A layer's content is mounted at /opt, and Python finds its code in /opt/python.
        paths = [str(BUILD / props["CodeUri"])] + [
            str(BUILD / template["Resources"][layer["Ref"]]["Properties"]["ContentUri"] / "python") for layer in layers]
        declared = {**globals_.get("Environment", {}).get("Variables", {}),
                    **props.get("Environment", {}).get("Variables", {})}
        env = {key: resolve(value, names) for key, value in declared.items()}
        assert all(isinstance(v, str) for v in env.values()), f"unresolved environment of {lid}: {env}"
        env.update(run.env)
        env.update({"AWS_ENDPOINT_URL": endpoint, "AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION,
                    "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                    "AWS_LAMBDA_FUNCTION_NAME": f"{STACK}-{lid}", "POWERTOOLS_TRACE_DISABLED": "true",
                    "POWERTOOLS_METRICS_DISABLED": "true", "PATH": os.environ["PATH"]})
        # The interpreter sam build used for the layer (its compiled wheels), not the dev venv's python.
        runtime = props.get("Runtime", globals_.get("Runtime"))
        beside = Path(sys.executable).parent / runtime  # the venv's python3.13 (make puts it first on PATH too)
        python = str(beside) if beside.is_file() else shutil.which(runtime)
        assert python, f"{runtime} is not on PATH (sam build needs it too)"
        report_path = tmp_path / f"{lid}.json"
        policy_path = tmp_path / f"{lid}-role.json"
        policy_path.write_text(json.dumps(run.roles[lid]))
        env["IAM_POLICY_FILE"] = str(policy_path)
        handler = props.get("Handler", globals_.get("Handler"))
        # -I -S: no dev venv, no site-packages, no PYTHON* variables; -B: Lambda's code dirs are read-only (no .pyc).
        proc = subprocess.run([python, "-I", "-S", "-B", str(RUNTIME), handler, str(report_path), *paths],
                              input=json.dumps(events), env=env, capture_output=True, text=True, timeout=120)
        assert (proc.returncode != 0) == fails, f"{lid} {'did not fail' if fails else 'failed'}:\n{proc.stderr[-6000:]}"
        report = json.loads(report_path.read_text())
        run.error = report["error"]
        assert report["isolated"], "`import moto` worked: the subprocess sees the dev venv"
        stdlib = report["sys_path"][len(paths):]
        assert report["sys_path"][:len(paths)] == paths and not any("site-packages" in p for p in stdlib)
        # The base interpreter's site-packages sits under its stdlib dir: a module from there is a stray too.
        strays = {m: f for m, f in report["modules"].items() if not f.startswith(tuple(paths))
                  and (not f.startswith(tuple(stdlib)) or "site-packages" in f) and Path(f).parent != RUNTIME.parent}
        assert not strays, f"{lid} loaded modules from outside the package and the standard library: {strays}"
        run.decisions[lid] = report["iam"]
        run.stdout[lid] = proc.stdout  # what Lambda would send to the function's log group
        return report["results"]

    run.roles = copy.deepcopy(roles)
    run.decisions = {}
    run.stdout = {}
    run.env = {}
    return run
