"""A body of a Content-Type an admin route does not take is a 415 naming it (contract section 2; issue 23
item 12: schemathesis found 5xx answers on six operations). Driven through the admin API's Lambda handler,
over every operation the OpenAPI document says takes a body, and the document declares the 415."""
from __future__ import annotations

import json
import re

import pytest

from idp_testing.lambda_client import load
from idp_testing.lambda_events import LambdaContext, http_event

NOT_JSON = [
    ("text/plain", '{"name": "x"}'),
    ("application/xml", "<user><name>x</name></user>"),
    ("text/csv; charset=utf-8", "username,email\nx,x@example.com\n"),
    ("application/x-www-form-urlencoded", "name=x&username=y"),
    ("multipart/form-data; boundary=zz", '--zz\r\nContent-Disposition: form-data; name="name"\r\n\r\nx\r\n--zz--\r\n'),
]


@pytest.fixture
def handler(aws_env):
    return load("admin_api")


def _call(handler, method, path, raw_body=None, content_type="application/json", token=True):
    kwargs = {} if token else {"token": None}
    answer = handler(http_event(method, path, raw_body=raw_body, headers={"content-type": content_type}, **kwargs),
                     LambdaContext())
    return answer["statusCode"], json.loads(answer["body"]) if answer.get("body") else None


def _document(handler) -> dict:
    status, doc = _call(handler, "GET", "/admin/openapi.json")
    assert status == 200
    return doc


def _operations_with_a_body(handler) -> list[tuple[str, str]]:
    # JSON bodies (the CSV import's preview takes text/csv: tests/integration/directory/test_csv_user_import.py)
    return [(method.upper(), re.sub(r"\{(\w+)\}", "x1", path))
            for path, ops in _document(handler)["paths"].items() for method, op in ops.items()
            if "application/json" in op.get("requestBody", {}).get("content", {})]


def test_the_document_declares_the_415_where_a_body_is_taken(handler):
    for path, ops in _document(handler)["paths"].items():
        for method, op in ops.items():
            if "requestBody" in op:  # with the one error model
                assert op["responses"]["415"]["content"]["application/json"]["schema"] == {
                    "$ref": "#/components/schemas/ErrorBody"}, (method, path)
            else:
                assert "415" not in op["responses"], (method, path)


def test_every_route_with_a_body_answers_415_to_another_media_type(handler):
    operations = _operations_with_a_body(handler)
    assert len(operations) >= 12, operations
    for method, path in operations:
        for content_type, raw in NOT_JSON:
            status, body = _call(handler, method, path, raw, content_type)
            assert status == 415, (method, path, content_type, status, body)
            assert body["error"] == "unsupported_media_type", body
            assert f"'{content_type.split(';')[0]}'" in body["message"] and "application/json" in body["message"], body
        # the token still comes first
        status, body = _call(handler, method, path, "<a/>", "application/xml", token=False)
        assert status == 401 and body["error"] == "unauthorized", (method, path, body)


def test_json_in_its_variants_is_still_taken(handler):
    user = {"username": "ada", "email": "ada@example.com", "firstname": "Ada", "lastname": "Lovelace"}
    status, made = _call(handler, "POST", "/admin/users", json.dumps(user), "application/json; charset=utf-8")
    assert status == 201, made
    status, body = _call(handler, "PATCH", f"/admin/users/{made['id']}", '{"title": "Countess"}', "application/json;charset=UTF-8")
    assert status == 200 and body["title"] == "Countess", body
    status, body = _call(handler, "POST", "/admin/groups", '{"name": "Eng"}', "")
    assert status == 201, body
    # a route that takes no body ignores one, whatever its type
    status, _ = _call(handler, "PUT", f"/admin/groups/{body['id']}/members/{made['id']}", "<a/>", "application/xml")
    assert status == 204
