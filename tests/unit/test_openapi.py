"""docs/openapi.json is what the admin routes generate, a valid OpenAPI 3 document that covers every
admin route with the contract's answers; only the admin API pays for the OpenAPI code."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from openapi_spec_validator import validate

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "openapi.json"


def _document() -> dict:
    from idp.web.admin_api import openapi_json

    return json.loads(openapi_json())


def test_the_committed_document_is_what_the_code_generates():
    from idp.web.admin_api import openapi_json

    assert DOC.read_text() == openapi_json(), "docs/openapi.json is stale: run `make openapi` and commit it"


def test_the_document_is_valid_openapi():
    validate(json.loads(DOC.read_text()))


def test_every_admin_route_is_documented_with_its_answers():
    from idp.web.admin_api import admin_routers
    from idp.web.api_models import TAGS

    doc = _document()
    routes = {(method.lower(), re.sub(r"<(\w+)>", r"{\1}", path))
              for router in admin_routers() for (path, methods, *_rest) in router._routes for method in methods}
    documented = {(m, p) for p, ops in doc["paths"].items() for m in ops}
    assert routes | {("get", "/admin/openapi.json")} == documented
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            answers = op["responses"]
            assert "422" not in answers, (method, path)
            if path.startswith("/admin/"):
                assert op["security"] == [{"bearerAuth": []}], (method, path)
                assert answers["401"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorBody"}
                assert op["tags"][0] in {tag.name for tag in TAGS}, (method, path)
    schemas = doc["components"]["schemas"]
    for model in ("UserCreate", "UserPatch", "GroupCreate", "GroupPatch", "AppCreate", "AppPatch", "ProvisioningSettings"):
        assert schemas[model]["additionalProperties"] is False, model
    assert doc["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


def test_the_saml_functions_never_import_the_openapi_models():
    code = ("import sys, idp.web.metadata_routes, idp.web.saml_routes, idp.web.resolver; "
            "print('idp.web.api_models' in sys.modules or 'idp.directory.models' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={"PYTHONPATH": str(ROOT / "layers" / "shared"), "PATH": ""})
    assert out.stdout.strip() == "False"
