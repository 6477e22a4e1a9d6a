"""Runs one built function as the Lambda Python runtime does: events as a JSON list on stdin, a report to a file."""
import importlib
import json
import os
import sys

handler, report_path, *code_paths = sys.argv[1:]
# Started with -I -S -B, so only the standard library is on sys.path; Lambda puts the code dir first, then the layers.
sys.path[:0] = code_paths

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
results = [entry(event, Context()) for event in json.load(sys.stdin)]
# Where every loaded module came from (this script itself is __main__, and __mp_main__ once multiprocessing loads).
modules = {name: path for name, m in sys.modules.items() if (path := getattr(m, "__file__", None)) and path != __file__}
with open(report_path, "w") as fh:
    json.dump({"isolated": isolated, "sys_path": sys.path, "modules": modules, "results": results}, fh)
