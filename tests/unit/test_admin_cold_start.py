"""The admin function's cold start (performance issue: at most 250 ms above bare Python): importing
functions/admin_api/app.py builds no pydantic schema and no OpenAPI code; powertools' OpenAPI models, the
request bodies' JSON schemas and the import, provisioning-planner and account-page helpers load when a
request (or the document) needs them (tests/integration/test_admin_first_request.py: the first request
builds the model it validates with, and validates as before)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

_COLD = """
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("app", sys.argv[1])
module = importlib.util.module_from_spec(spec)
sys.modules["app"] = module
spec.loader.exec_module(module)
from idp.directory import models
from idp.web import api_models, audit_routes
lazy = ("aws_lambda_powertools.event_handler.openapi.models", "idp.web.account_routes", "idp.web.pages",
        "idp.provisioning.import_report", "idp.provisioning.planner", "idp.scim.mapping", "idp.signon.mfa.policy_body")
print(json.dumps({
    "loaded": sorted(m for m in lazy if m in sys.modules),
    "built": sorted(m.__name__ for m in (models.UserCreate, models.AppCreate, models.ProvisioningSettings,
                                        api_models.UserView, api_models.UserPage, api_models.ErrorBody,
                                        audit_routes.EventPage) if m.__pydantic_complete__),
    "bodies": sorted(n for n in ("UserCreateBody", "AppPatchBody", "MfaPolicyBody") if n in vars(api_models)),
}))
"""


def _env() -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("POWERTOOLS_", "AWS_"))}
    env.update({"AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1", "TABLE_NAME": "t",
                "EVENTS_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/q.fifo", "SSM_PREFIX": "/t",
                "ADMIN_TOKEN_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:t",
                "PUBLIC_BASE_URL": "https://idp.example.com", "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing", "POWERTOOLS_SERVICE_NAME": "officespace-idp",
                "POWERTOOLS_TRACE_DISABLED": "true"})
    return env


def test_the_admin_function_builds_no_schema_and_no_openapi_code_at_import():
    done = subprocess.run([sys.executable, "-c", _COLD, str(ROOT / "functions" / "admin_api" / "app.py")],
                          capture_output=True, text=True, timeout=120, env=_env(), cwd=ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {"loaded": [], "built": [], "bodies": []}


def test_the_lazy_names_of_the_api_models_are_there_on_first_use():
    from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer, Tag

    from idp.web import api_models

    assert isinstance(api_models.SECURITY_SCHEMES["bearerAuth"], HTTPBearer)
    assert [t.name for t in api_models.TAGS][:2] == ["users", "groups"] and all(isinstance(t, Tag) for t in api_models.TAGS)
    assert api_models.UserCreateBody is api_models.UserCreateBody  # made once, then a module attribute
    assert api_models.MfaPolicyBody is not None  # its model imported by the function that loads it
    try:
        api_models.NoSuchBody  # noqa: B018
    except AttributeError as exc:
        assert "NoSuchBody" in str(exc)
    else:
        raise AssertionError("an unknown name must raise AttributeError")

