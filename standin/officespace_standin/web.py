"""The stand-in's WSGI application: SP pages + the SCIM server mounted under /scim/v2.

Plain WSGI on the standard library (no framework), so it runs on wsgiref's threading server.
"""
from __future__ import annotations

import json
import logging
import secrets
import threading
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from http import HTTPStatus
from http.cookies import CookieError, SimpleCookie
from typing import Any
from urllib.parse import parse_qs

from onelogin.saml2.settings import OneLogin_Saml2_Settings

from .scim import MOUNT as SCIM_MOUNT
from .scim import ScimBackend, snapshot
from .sp import MetadataError, SamlSP, safe_relay_path
from .templates import environment

log = logging.getLogger("officespace_standin.web")

SESSION_COOKIE = "officespace_standin_session"
MAX_FORM_BYTES = 4_000_000
MAX_SESSIONS = 1000

Response = tuple[int, list[tuple[str, str]], bytes]


class Request:
    def __init__(self, environ: dict):
        self.environ = environ
        self.method = environ.get("REQUEST_METHOD", "GET").upper()
        self.path = environ.get("PATH_INFO", "") or "/"
        self.raw_query = environ.get("QUERY_STRING", "")
        self.query = {k: v[0] for k, v in parse_qs(self.raw_query, keep_blank_values=True).items()}
        cookie = SimpleCookie()
        try:
            cookie.load(environ.get("HTTP_COOKIE", ""))
        except CookieError:
            pass
        self.cookies = {k: m.value for k, m in cookie.items()}
        self._form: dict[str, str] | None = None

    def form(self) -> dict[str, str]:
        if self._form is None:
            self._form = {}
            ctype = (self.environ.get("CONTENT_TYPE") or "").split(";")[0].strip().lower()
            try:
                length = int(self.environ.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            if length > MAX_FORM_BYTES:
                raise ValueError("the form is larger than 4 MB")
            body = self.environ["wsgi.input"].read(length) if length > 0 else b""
            if ctype in ("application/x-www-form-urlencoded", ""):
                parsed = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
                self._form = {k: v[0] for k, v in parsed.items()}
        return self._form


class StandinApp:
    """The whole HTTP surface of the stand-in, as one WSGI callable."""

    def __init__(self, *, sp: SamlSP, scim: ScimBackend, base_url: str):
        self.sp = sp
        self.scim = scim
        self.base_url = base_url.rstrip("/")
        self.scim_base_url = f"{self.base_url}{SCIM_MOUNT}/v2"
        self.env = environment()
        self._sessions: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self.routes: dict[tuple[str, str], Callable[[Request], Response]] = {
            ("GET", "/"): self.home,
            ("GET", "/healthz"): self.healthz,
            ("GET", "/sso/login"): self.sso_login,
            ("POST", "/users/sign_in/saml"): self.acs,
            ("GET", "/users/sign_in/saml"): self.acs_get,
            ("GET", "/logout"): self.logout,
            ("POST", "/logout"): self.logout,
            ("GET", "/saml/slo"): self.slo,
            ("GET", "/saml/metadata"): self.sp_metadata,
            ("GET", "/provisioning"): self.provisioning,
            ("GET", "/provisioning.json"): self.provisioning_json,
            ("GET", "/sign-ins.json"): self.sign_ins_json,
        }

    # -- WSGI -----------------------------------------------------------------------------

    def __call__(self, environ: dict, start_response) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "") or "/"
        prefix = f"{SCIM_MOUNT}/v2"
        if path == prefix or path.startswith(prefix + "/"):
            environ["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "").rstrip("/") + SCIM_MOUNT
            environ["PATH_INFO"] = path[len(SCIM_MOUNT):]
            return self.scim.app(environ, start_response)
        request = Request(environ)
        method = "GET" if request.method == "HEAD" else request.method
        handler = self.routes.get((method, request.path))
        try:
            if handler is None:
                if any(p == request.path for (_, p) in self.routes):
                    status, headers, body = self.page(405, "message", heading="Method not allowed.", kind="bad",
                                                      testid="method-not-allowed", detail=f"{request.method} {request.path}",
                                                      request=request)
                else:
                    status, headers, body = self.page(404, "message", heading="Page not found.", kind="bad",
                                                      testid="not-found", detail=request.path, request=request)
            else:
                status, headers, body = handler(request)
        except Exception:
            log.exception("stand-in error on %s %s", request.method, request.path)
            status, headers, body = 500, [("Content-Type", "text/plain; charset=utf-8")], b"internal error\n"
        headers = [*headers, ("Content-Length", str(len(body))), ("Cache-Control", "no-store"),
                   ("X-Content-Type-Options", "nosniff"), ("Referrer-Policy", "same-origin")]
        start_response(f"{status} {HTTPStatus(status).phrase}", headers)
        return [b"" if request.method == "HEAD" else body]

    # -- helpers --------------------------------------------------------------------------

    def session_of(self, request: Request) -> dict[str, Any] | None:
        token = request.cookies.get(SESSION_COOKIE)
        if not token:
            return None
        with self._lock:
            return self._sessions.get(token)

    def page(self, status: int, template: str, request: Request | None = None,
             headers: list[tuple[str, str]] | None = None, **context) -> Response:
        context.setdefault("session", self.session_of(request) if request is not None else None)
        context.setdefault("nav", "")
        context.setdefault("sp", self.sp)
        context.setdefault("scim_base_url", self.scim_base_url)
        context.setdefault("detail", None)
        html = self.env.get_template(template).render(**context)
        return status, [("Content-Type", "text/html; charset=utf-8"), *(headers or [])], html.encode()

    @staticmethod
    def json(status: int, data: Any) -> Response:
        return status, [("Content-Type", "application/json")], json.dumps(data, indent=1, default=str).encode()

    @staticmethod
    def _cookie(value: str, max_age: int | None = None) -> tuple[str, str]:
        parts = [f"{SESSION_COOKIE}={value}", "Path=/", "HttpOnly", "SameSite=Lax"]
        if max_age is not None:
            parts.append(f"Max-Age={max_age}")
        return "Set-Cookie", "; ".join(parts)

    # -- pages ----------------------------------------------------------------------------

    def healthz(self, request: Request) -> Response:
        return 200, [("Content-Type", "text/plain; charset=utf-8")], b"ok\n"

    def home(self, request: Request) -> Response:
        with self.sp._lock:
            sign_ins = list(self.sp.sign_ins)
        return self.page(200, "home", request, nav="home", sign_ins=sign_ins)

    def sso_login(self, request: Request) -> Response:
        relay = safe_relay_path(request.query.get("relay")) or "/"
        if len(relay.encode()) > 80:  # SAML Bindings 3.4.3
            relay = "/"
        try:
            url, request_id = self.sp.login_redirect(relay)
        except MetadataError as exc:
            return self.page(502, "message", request, heading="Single sign-on is not available.", kind="bad",
                             testid="idp-unavailable", detail=str(exc))
        log.info("SP-initiated AuthnRequest %s -> %s", request_id, url.split("?")[0])
        return 302, [("Location", url), ("Content-Type", "text/plain; charset=utf-8")], b""

    def acs_get(self, request: Request) -> Response:
        return self.page(405, "message", request, heading="This is the SAML sign-on (ACS) URL.", kind="bad",
                         testid="acs-get", detail="It takes a SAMLResponse by HTTP POST.")

    def acs(self, request: Request) -> Response:
        try:
            form = request.form()
        except ValueError as exc:
            return self.page(413, "message", request, heading="Sign-in failed.", kind="bad", testid="acs-error",
                             detail=str(exc))
        result = self.sp.process_acs(form)
        if not result.ok:
            return self.page(400, "acs_error", request, result=result)
        session = {
            "nameid": result.nameid, "nameid_format": result.nameid_format, "nameid_nq": result.nameid_nq,
            "nameid_spnq": result.nameid_spnq, "session_index": result.session_index,
            "attributes": result.attributes, "relay_state": result.relay_state, "flow": result.flow,
            "in_response_to": result.in_response_to, "issuer": result.issuer, "at": result.at,
            "display_name": (result.attributes.get("name") or result.attributes.get("first_name") or [""])[0],
        }
        token = secrets.token_urlsafe(24)
        with self._lock:
            old = request.cookies.get(SESSION_COOKIE)
            if old:
                self._sessions.pop(old, None)
            self._sessions[token] = session
            while len(self._sessions) > MAX_SESSIONS:
                self._sessions.pop(next(iter(self._sessions)))
        return self.page(200, "signed_in", request, headers=[self._cookie(token)], session=session,
                         next_path=safe_relay_path(result.relay_state), response_xml=result.response_xml)

    def logout(self, request: Request) -> Response:
        token = request.cookies.get(SESSION_COOKIE)
        with self._lock:
            session = self._sessions.pop(token, None) if token else None
        headers = [self._cookie("", max_age=0)]
        want_slo = (request.query.get("slo") or (request.form().get("slo") if request.method == "POST" else "")) == "1"
        if session and want_slo:
            try:
                url = self.sp.logout_redirect(session)
            except MetadataError:
                url = None
            if url:
                return 302, [*headers, ("Location", url), ("Content-Type", "text/plain")], b""
        return self.page(200, "message", request, headers=headers, session=None, heading="You are signed out.",
                         kind="ok", testid="signed-out", detail="Your OfficeSpace session has ended.")

    def slo(self, request: Request) -> Response:
        try:
            errors, reason, redirect = self.sp.process_slo(request.query, request.raw_query)
        except MetadataError as exc:
            errors, reason, redirect = ["idp_metadata"], str(exc), None
        if errors:
            return self.page(400, "message", request, heading="Single logout failed.", kind="bad",
                             testid="slo-error", detail=f"{', '.join(errors)}: {reason}")
        token = request.cookies.get(SESSION_COOKIE)
        if token:
            with self._lock:
                self._sessions.pop(token, None)
        headers = [self._cookie("", max_age=0)]
        if redirect:  # an IdP-initiated LogoutRequest: answer with a LogoutResponse
            return 302, [*headers, ("Location", redirect), ("Content-Type", "text/plain")], b""
        return self.page(200, "message", request, headers=headers, session=None, heading="You are signed out.",
                         kind="ok", testid="signed-out", detail="The IdP confirmed the single logout.")

    def sp_metadata(self, request: Request) -> Response:
        settings = self.sp.settings({"entityId": "urn:placeholder", "singleSignOnService": {"url": "http://placeholder.invalid"}})
        xml = OneLogin_Saml2_Settings(settings, sp_validation_only=True).get_sp_metadata()
        return 200, [("Content-Type", "application/samlmetadata+xml")], xml if isinstance(xml, bytes) else xml.encode()

    def provisioning(self, request: Request) -> Response:
        now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%SZ")
        return self.page(200, "provisioning", request, nav="provisioning", data=snapshot(self.scim.storage), now=now)

    def provisioning_json(self, request: Request) -> Response:
        return self.json(200, snapshot(self.scim.storage))

    def sign_ins_json(self, request: Request) -> Response:
        with self.sp._lock:
            return self.json(200, {"sign_ins": list(self.sp.sign_ins)})
