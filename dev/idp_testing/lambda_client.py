"""Driving the deployed functions' resolvers and handlers in process, as API Gateway would: a browser-like client of
a powertools resolver (API Gateway HTTP API v2 events, cookies kept), the login form filled, the SAML world of the
integration tests (the login function's container from Settings, a user bound to an app with a python3-saml SP), and
the audit log read back through the admin function's handler."""
from __future__ import annotations

import base64
import json
from urllib.parse import parse_qs, urlencode, urlsplit

from idp_local.stack import load_function, repo_root
from idp_testing.lambda_events import LambdaContext, http_event
from idp_testing.saml_browser import parse_inputs
from idp_testing.saml_sp import sp_key, sp_settings

PASSWORD = "Corr3ct-Horse-Battery"


class Ctx:
    pass


def load(name: str):
    """functions/<name>/app.py's lambda_handler, imported as Lambda imports it."""
    return load_function(repo_root(), name)


class LambdaClient:
    """Drives a powertools resolver with API Gateway v2 events; keeps cookies like a browser."""

    def __init__(self, app, ip="198.51.100.7"):
        self.app, self.ip, self.jar = app, ip, {}
        self.set_cookie_headers: list[str] = []

    def request(self, method, path, raw_query="", form=None, b64_body=False, follow=True):
        body = None
        headers = {"host": "idp.example.com", "x-forwarded-proto": "https", "user-agent": "pytest"}
        if form is not None:
            body = form if isinstance(form, str) else urlencode(form)
            headers["content-type"] = "application/x-www-form-urlencoded"
            if b64_body:
                body = base64.b64encode(body.encode()).decode()
        event = {
            "version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": raw_query,
            "headers": headers,
            "queryStringParameters": {k: v[-1] for k, v in parse_qs(raw_query, keep_blank_values=True).items()} or None,
            "requestContext": {
                "accountId": "123456789012", "apiId": "api", "domainName": "idp.example.com", "domainPrefix": "idp",
                "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": self.ip, "userAgent": "pytest"},
                "requestId": "req", "routeKey": "$default", "stage": "$default", "time": "28/Nov/2026:19:00:00 +0000",
                "timeEpoch": 1795892400000,
            },
            "body": body,
            "isBase64Encoded": b64_body,
        }
        if self.jar:
            event["cookies"] = [f"{k}={v}" for k, v in self.jar.items()]
        out = self.app.resolve(event, _LoginContext())
        for raw in out.get("cookies") or []:
            self.set_cookie_headers.append(raw)
            first, *attrs = [p.strip() for p in raw.split(";")]
            name, _, value = first.partition("=")
            if "Max-Age=0" in attrs or not value:
                self.jar.pop(name, None)
            else:
                self.jar[name] = value
        headers_out = {k.lower(): v for k, v in (out.get("headers") or {}).items()}
        body_out = out.get("body") or ""
        if out.get("isBase64Encoded"):
            body_out = base64.b64decode(body_out).decode()
        resp = Ctx()
        resp.status, resp.headers, resp.text, resp.path = out["statusCode"], headers_out, body_out, path
        if follow and resp.status == 302:
            loc = urlsplit(headers_out["location"])
            return self.request("GET", loc.path, loc.query)
        return resp


class _LoginContext:
    function_name = "saml_login"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:saml_login"
    aws_request_id = "test"

    def get_remaining_time_in_millis(self):
        return 30_000


def admin_caller(*routers):
    """call(method, path, body=None, query=None) -> (status, JSON body or None) of a resolver mounting `routers` (the
    admin function's), fed API Gateway v2 events with the admin token."""
    from idp.web.resolver import lambda_app

    app = lambda_app(*routers)

    def call(method, path, body=None, query=None):
        out = app.resolve(http_event(method, path, body, query=query), LambdaContext())
        return out["statusCode"], json.loads(out["body"]) if out.get("body") else None

    return call


def form_login(client: LambdaClient, page, username: str = "ada", password: str = PASSWORD):
    """Submit the login form `page` shows, with its hidden fields, as a browser would."""
    fields = parse_inputs(page.text)
    fields.update(username=username, password=password)
    return client.request("POST", "/login", form=fields)


def saml_world(monkeypatch) -> Ctx:
    """The login function's resolver and container from Settings (bootstrap reset first): Ada, bound to the app
    "officespace", whose SP (python3-saml settings, signing its AuthnRequests) is `sp`. The caller resets the
    container afterwards."""
    monkeypatch.setenv("IDP_LOGIN_IP_MAX_FAILURES", "3")
    from idp import bootstrap
    from idp.web.metadata_routes import metadata_router
    from idp.web.resolver import lambda_app
    from idp.web.saml_routes import login_router

    bootstrap.reset()
    ctx = Ctx()
    ctx.directory = bootstrap.container().directory
    ctx.apps = bootstrap.container().apps
    ctx.resolver = lambda_app(metadata_router, login_router)
    ctx.user = ctx.directory.create_user({"username": "ada", "email": "ada@example.com", "firstname": "Ada",
                                          "lastname": "Lovelace", "password": PASSWORD})
    ctx.kp = sp_key("lambda")
    ctx.app = ctx.apps.create({"slug": "officespace", "label": "OfficeSpace", "sp_entity_id": "acme.officespacesoftware.com",
                               "acs_urls": ["https://acme.officespacesoftware.com/users/sign_in/saml"],
                               "sp_certificate": ctx.kp.certificate_pem})
    ctx.directory.bind_user("officespace", ctx.user["id"], bind=True)
    ctx.sp = sp_settings(ctx.app["signing_keys"][0]["certificate_pem"], sp_entity_id="acme.officespacesoftware.com",
                         acs_url="https://acme.officespacesoftware.com/users/sign_in/saml",
                         idp_entity_id="https://idp.example.com/saml2/officespace",
                         sso_url="https://idp.example.com/saml2/officespace", sp_keypair=ctx.kp,
                         authn_requests_signed=True)
    return ctx


def events(**query) -> list[dict]:
    """The audit log through GET /admin/events on the admin function's handler (up to 500 events)."""
    answer = load("admin_api")(http_event("GET", "/admin/events", query={"limit": "500", **query}), LambdaContext())
    assert answer["statusCode"] == 200, answer["body"]
    return json.loads(answer["body"])["items"]


def one(items: list[dict], **match) -> dict:
    """The first event matching every field of `match` (the assertion names what was there instead)."""
    found = [e for e in items if all(e.get(k) == v for k, v in match.items())]
    assert found, f"no event {match} in {[(e['type'], e['outcome'], e.get('reason')) for e in items]}"
    return found[0]
