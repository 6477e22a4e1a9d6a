"""What AWS hands a Lambda handler: API Gateway HTTP API (payload 2.0) events and a Lambda context."""
from __future__ import annotations

import json
from urllib.parse import urlencode

from idp_local.event_source import LambdaContext  # noqa: F401 - the one Lambda context of tests and the local stack

ADMIN_TOKEN = "test-admin-token-9f8e7d6c5b4a"


def http_event(method: str, path: str, body=None, token: str | None = ADMIN_TOKEN, query: dict | None = None,
               headers: dict | None = None, raw_body: str | None = None, source_ip: str = "198.51.100.7") -> dict:
    """An API Gateway HTTP API (payload 2.0) event, as API Gateway would send it."""
    hdrs = {"content-type": "application/json", "host": "idp.example.com", "x-forwarded-proto": "https"}
    if token:
        hdrs["authorization"] = f"Bearer {token}"
    hdrs.update(headers or {})
    if raw_body is None and body is not None:
        raw_body = json.dumps(body)
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": urlencode(query or {}),
        "headers": hdrs,
        "queryStringParameters": query or None,
        "requestContext": {
            "accountId": "123456789012", "apiId": "api", "domainName": "idp.example.com", "domainPrefix": "idp",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": source_ip, "userAgent": "pytest"},
            "requestId": "req", "routeKey": "$default", "stage": "$default", "time": "28/Nov/2026:19:00:00 +0000",
            "timeEpoch": 1795892400000,
        },
        "body": raw_body,
        "isBase64Encoded": False,
    }
