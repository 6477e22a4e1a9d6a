"""Drive the admin API and the identity sources' SCIM server (two Lambda resolvers) against moto."""
from __future__ import annotations

import json
from typing import Any, Callable

from idp_testing.lambda_events import LambdaContext, http_event

SCIM_USER = "urn:ietf:params:scim:schemas:core:2.0:User"
SCIM_GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


class Harness:
    def __init__(self) -> None:
        from idp.web.admin_api import admin_resolver
        from idp.web.scim_server_routes import scim_resolver

        self.admin_app = admin_resolver()
        self.scim_app = scim_resolver()

    @staticmethod
    def _call(app: Any, method: str, path: str, body: Any = None, **kw: Any) -> tuple[int, Any, dict[str, str]]:
        answer = app.resolve(http_event(method, path, body, **kw), LambdaContext())
        text = answer.get("body") or ""
        try:
            payload = json.loads(text) if text else None
        except ValueError:
            payload = text
        return answer["statusCode"], payload, {k.lower(): v for k, v in (answer.get("headers") or {}).items()}

    def admin(self, method: str, path: str, body: Any = None, **kw: Any) -> tuple[int, Any]:
        status, payload, _ = self._call(self.admin_app, method, path, body, **kw)
        return status, payload

    def source(self, name: str = "Workday", **settings: Any) -> "Source":
        status, created = self.admin("POST", "/admin/sources", {"name": name, **settings})
        assert status == 201, created
        return Source(self, created)


class Source:
    def __init__(self, harness: Harness, created: dict) -> None:
        self.harness, self.created = harness, created
        self.id, self.token = created["id"], created["token"]

    def __call__(self, method: str, path: str, body: Any = None, token: str | None = None, query: dict | None = None,
                 headers: dict | None = None, raw_body: str | None = None) -> tuple[int, Any]:
        status, payload, _ = self.harness._call(self.harness.scim_app, method, "/scim/v2" + path, body,
                                                token=token or self.token, query=query, headers=headers, raw_body=raw_body)
        return status, payload

    def with_headers(self, method: str, path: str, body: Any = None) -> tuple[int, Any, dict[str, str]]:
        return self.harness._call(self.harness.scim_app, method, "/scim/v2" + path, body, token=self.token)

    def create_user(self, username: str, **extra: Any) -> dict:
        status, body = self(method="POST", path="/Users", body=user_body(username, **extra))
        assert status == 201, body
        return body


def user_body(username: str, email: str | None = None, given: str = "Grace", family: str = "Hopper", **extra: Any) -> dict:
    return {"schemas": [SCIM_USER, ENTERPRISE], "userName": username, "name": {"givenName": given, "familyName": family},
            "emails": [{"value": email or f"{username}@example.com", "type": "work", "primary": True}], "active": True, **extra}


Call = Callable[..., tuple[int, Any]]
