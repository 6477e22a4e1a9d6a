"""Runs one built function as the Lambda Python runtime does: events as a JSON list on stdin, a report to a file.

With IAM_POLICY_FILE (the function's role, rendered from template.yaml: a JSON list of statements), every AWS
call the function makes is first authorized against that role (iam_policy, beside this file): a call the role
does not allow fails as AWS fails it (AccessDeniedException), and every decision goes into the report."""
import importlib
import importlib.util
import json
import os
import sys
from pathlib import Path

handler, report_path, *code_paths = sys.argv[1:]
# Started with -I -S -B, so only the standard library is on sys.path; Lambda puts the code dir first, then the layers.
sys.path[:0] = code_paths
decisions: list = []


def enforce_iam(policy_file: str) -> None:
    spec = importlib.util.spec_from_file_location("iam_policy", Path(__file__).with_name("iam_policy.py"))
    iam = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(iam)
    statements = json.loads(Path(policy_file).read_text())
    from botocore.client import BaseClient
    from botocore.exceptions import ClientError

    real = BaseClient._make_request

    def authorized_request(self, operation_model, request_dict, request_context):
        # The request as it goes on the wire (boto3's resource layer has serialized it by now): JSON for
        # DynamoDB, SQS, SSM and Secrets Manager.
        body = request_dict.get("body") or b"{}"
        params = json.loads(body.decode() if isinstance(body, bytes) else body or "{}")
        service, operation = self.meta.service_model.endpoint_prefix, operation_model.name
        for action, resource, context in iam.authorizations(service, operation, params):
            verdict = iam.decide(statements, action, resource, context)
            decisions.append([action, resource, context, verdict])
            if verdict != "Allow":
                raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": (
                    f"not authorized to perform {action} on {resource} ({verdict}, context {context})")}}, operation)
        return real(self, operation_model, request_dict, request_context)

    BaseClient._make_request = authorized_request


if os.environ.get("IAM_POLICY_FILE"):
    enforce_iam(os.environ["IAM_POLICY_FILE"])

try:
    import moto  # noqa: F401 - the dev venv's; it must not be reachable from here
    isolated = False
except ImportError:
    isolated = True


class Context:
    function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "function")
    function_version = "$LATEST"
    memory_limit_in_mb = 512
    invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{function_name}"
    aws_request_id = "package-smoke-test"

    def get_remaining_time_in_millis(self):
        return 30_000


module_name, _, function = handler.rpartition(".")
entry = getattr(importlib.import_module(module_name), function)
results, error = [], None
try:
    for event in json.load(sys.stdin):
        results.append(entry(event, Context()))
except Exception as exc:  # noqa: BLE001 - as Lambda: the invocation fails (reported, and the exit status says so)
    import traceback

    error = "".join(traceback.format_exception(exc))
    print(error, file=sys.stderr)
# Where every loaded module came from (this script itself is __main__, and __mp_main__ once multiprocessing loads).
modules = {name: path for name, m in sys.modules.items() if (path := getattr(m, "__file__", None)) and path != __file__}
with open(report_path, "w") as fh:
    json.dump({"isolated": isolated, "sys_path": sys.path, "modules": modules, "results": results,
               "iam": decisions, "error": error}, fh)
sys.exit(1 if error else 0)
