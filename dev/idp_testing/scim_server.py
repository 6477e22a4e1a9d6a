"""A real scim2-server on loopback with a request recorder, and a fault-injecting TCP proxy in front of it."""
from __future__ import annotations

import json
import random
import socket
import struct
import threading
import time
from pathlib import Path
from typing import Any, Callable
from urllib.parse import parse_qs
from wsgiref.simple_server import WSGIRequestHandler, make_server

import requests

TABLE = "prov-test-table"
ROOT = Path(__file__).resolve().parents[2]


# ---------------------------------------------------------------- SCIM server
class _Quiet(WSGIRequestHandler):
    def log_message(self, *args):
        pass


class ScimServer:
    """scim2-server (in memory) on 127.0.0.1 in a thread. Every request not marked as a peek is
    recorded as (method, path, query dict, body). `override(method, path, query, body)` may return
    (status, headers, body) to answer instead of the server. `strict_members=True`: a group POST or
    PATCH that adds a member id the server holds no user for is refused with 400 (scim2-server itself
    accepts such ids; the field report's SP did not)."""

    def __init__(self, token: str = "secret", *, strict_members: bool = False):
        from scim2_server.memory import InMemoryStorage
        from scim2_server.testserver.application import BearerTokenApplication
        from scim2_server.testserver.cli import ThreadingWSGIServer
        from scim2_server.utils import load_default_provider

        self.token = token
        self.app = BearerTokenApplication(InMemoryStorage(), load_default_provider(), bearer_tokens=[token])
        self.requests: list[tuple[str, str, dict, Any]] = []
        self.override: Callable | None = None
        self.strict_members = strict_members
        self.refused: list[tuple[str, str, list[str]]] = []  # (method, path, unknown ids) a strict server refused
        self._lock = threading.Lock()
        self.server = make_server("127.0.0.1", 0, self._wsgi, server_class=ThreadingWSGIServer, handler_class=_Quiet)
        self.port = self.server.server_port
        self.base_url = f"http://127.0.0.1:{self.port}/v2"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()
        self.peek = requests.Session()
        self.peek.headers.update({"Authorization": f"Bearer {token}", "Content-Type": "application/scim+json",
                                  "X-Test-Peek": "1"})

    def _wsgi(self, environ, start_response):
        if environ.get("HTTP_X_TEST_PEEK"):
            return self.app(environ, start_response)
        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(length) if length else b""
        import io

        environ["wsgi.input"] = io.BytesIO(raw)
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw
        method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO", "")
        query = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
        with self._lock:
            self.requests.append((method, path, query, body))
        unknown = self._unknown_members(method, path, body) if self.strict_members else []
        if unknown:
            with self._lock:
                self.refused.append((method, path, unknown))
            data = json.dumps({"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"], "status": "400",
                               "scimType": "invalidValue", "detail": f"unknown member id(s) {', '.join(unknown[:5])}"}).encode()
            start_response("400 Bad Request", [("Content-Type", "application/scim+json"), ("Content-Length", str(len(data)))])
            return [data]
        if self.override:
            answer = self.override(method, path, query, body)
            if answer is not None:
                status, headers, payload = answer
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                start_response(status, list(headers.items()) + [("Content-Length", str(len(data)))])
                return [data]
        return self.app(environ, start_response)

    def _unknown_members(self, method: str, path: str, body) -> list[str]:
        """The member ids a group POST or PATCH adds that name no user of this server."""
        if method not in ("POST", "PATCH") or "/Groups" not in path:
            return []
        values: list[str] = []
        if isinstance(body, dict) and method == "POST":
            values = [str(m.get("value")) for m in body.get("members") or [] if isinstance(m, dict)]
        elif isinstance(body, dict):
            for op in body.get("Operations") or []:
                if str(op.get("op", "")).lower() in ("add", "replace") and str(op.get("path") or "").lower() == "members":
                    values += [str(m.get("value")) for m in op.get("value") or [] if isinstance(m, dict)]
        return [v for v in values if self.get("Users", v) is None]

    # reading the SP without counting
    def list(self, resource: str) -> list[dict]:
        out, start = [], 1
        while True:
            body = self.peek.get(f"{self.base_url}/{resource}", params={"startIndex": start, "count": 100}).json()
            out.extend(body.get("Resources", []))
            start += int(body.get("itemsPerPage") or 0)
            if not body.get("Resources") or start > int(body["totalResults"]):
                return out

    def stored(self, resource: str) -> list[dict]:
        """What `list` answers, read from scim2-server's storage instead of over HTTP: the same resources,
        without the server's paging and response building (about 40 ms of CPU for 60 users, 1.5 ms this
        way). The convergence checks call it ten times a second; over HTTP they took a quarter of a core
        from the stack they measure. Attributes the server never returns (`password`) are left out."""
        storage = getattr(self.app, "storage", None)
        if storage is None or not hasattr(storage, "resources"):
            return self.list(resource)
        kind = {"Users": "User", "Groups": "Group"}[resource]
        with storage.lock:
            found = [r for r in storage.resources if getattr(getattr(r, "meta", None), "resource_type", None) == kind]
            out = [r.model_dump(mode="json", by_alias=True, exclude_none=True) for r in found]
        for item in out:
            item.pop("password", None)
        return out

    def get(self, resource: str, scim_id: str) -> dict | None:
        r = self.peek.get(f"{self.base_url}/{resource}/{scim_id}")
        return r.json() if r.status_code == 200 else None

    def create(self, resource: str, payload: dict) -> dict:
        r = self.peek.post(f"{self.base_url}/{resource}", json=payload)
        assert r.status_code == 201, r.text
        return r.json()

    def delete(self, resource: str, scim_id: str) -> None:
        self.peek.delete(f"{self.base_url}/{resource}/{scim_id}")

    def patch(self, resource: str, scim_id: str, ops: list[dict]) -> None:
        r = self.peek.patch(f"{self.base_url}/{resource}/{scim_id}",
                            json={"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops})
        assert r.status_code in (200, 204), r.text

    def user_by_name(self, username: str) -> dict | None:
        hits = [u for u in self.list("Users") if u["userName"].lower() == username.lower()]
        assert len(hits) <= 1, f"duplicate users {username}"
        return hits[0] if hits else None

    def group_by_name(self, name: str) -> dict | None:
        hits = [g for g in self.list("Groups") if g["displayName"] == name]
        assert len(hits) <= 1, f"duplicate groups {name}"
        return self.get("Groups", hits[0]["id"]) if hits else None

    def reset_counts(self) -> None:
        with self._lock:
            self.requests.clear()

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for method, path, _, _ in self.requests:
            resource = path.split("/")[2] if path.count("/") >= 2 else path
            key = f"{method} {resource}"
            out[key] = out.get(key, 0) + 1
        return out

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# ---------------------------------------------------------------- fault-injecting TCP proxy
class FaultProxy:
    """A TCP proxy in front of the SCIM server. While `faulty`, each request draws (seeded) one of:
    pass, 429 + Retry-After (seconds or HTTP-date), 503 + Retry-After, 500, timeout before the
    server sees it, timeout after the server applied it (answer lost), connection reset before,
    connection reset after the server applied it."""

    FAULTS = ("429", "429date", "503", "500", "timeout_before", "timeout_after", "reset_before", "reset_after")

    def __init__(self, upstream_port: int, *, seed: int = 7, rate: float = 0.5, hang_seconds: float = 1.0,
                 retry_after: int = 1, faulty_requests: int | None = None):
        self.upstream_port = upstream_port
        self.rng = random.Random(seed)
        self.rate = rate
        self.hang_seconds = hang_seconds
        self.retry_after = retry_after
        self.faulty = True
        self.faulty_requests = faulty_requests  # stop faulting after this many requests (None: never)
        self.seen = 0
        self.injected: dict[str, int] = {}
        self.passed = 0
        self._lock = threading.Lock()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self._stop = False
        threading.Thread(target=self._accept, daemon=True).start()

    def base_url(self, path: str = "/v2") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def _accept(self):
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    @staticmethod
    def _read_request(conn) -> bytes | None:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                return None
            data += chunk
        head, _, rest = data.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        while len(rest) < length:
            chunk = conn.recv(65536)
            if not chunk:
                break
            rest += chunk
        # One request per connection keeps the proxy simple.
        head = b"\r\n".join(l for l in head.split(b"\r\n") if not l.lower().startswith(b"connection:"))
        return head + b"\r\nConnection: close\r\n\r\n" + rest

    def _forward(self, request: bytes) -> bytes:
        up = socket.create_connection(("127.0.0.1", self.upstream_port))
        try:
            up.sendall(request)
            out = b""
            while True:
                chunk = up.recv(65536)
                if not chunk:
                    return out
                out += chunk
        finally:
            up.close()

    @staticmethod
    def _reset(conn) -> None:
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.close()

    def _answer(self, conn, status: str, headers: dict, body: bytes) -> None:
        head = f"HTTP/1.1 {status}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        head += f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        conn.sendall(head.encode() + body)
        conn.close()

    def _serve(self, conn):
        try:
            request = self._read_request(conn)
            if request is None:
                conn.close()
                return
            with self._lock:
                self.seen += 1
                if self.faulty_requests is not None and self.seen > self.faulty_requests:
                    self.faulty = False
                fault = self.rng.choice(self.FAULTS) if self.faulty and self.rng.random() < self.rate else None
                if fault:
                    self.injected[fault] = self.injected.get(fault, 0) + 1
                else:
                    self.passed += 1
            if fault is None:
                conn.sendall(self._forward(request))
                conn.close()
            elif fault == "429":
                self._answer(conn, "429 Too Many Requests", {"Retry-After": str(self.retry_after), "Content-Type": "text/plain"},
                             b"slow down")
            elif fault == "429date":
                import email.utils

                when = email.utils.formatdate(time.time() + self.retry_after + 1, usegmt=True)
                self._answer(conn, "429 Too Many Requests", {"Retry-After": when, "Content-Type": "text/html"},
                             b"<html>rate limited</html>")
            elif fault == "503":
                self._answer(conn, "503 Service Unavailable", {"Retry-After": str(self.retry_after),
                                                               "Content-Type": "application/scim+json"},
                             json.dumps({"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"], "status": "503",
                                         "detail": "maintenance"}).encode())
            elif fault == "500":
                self._answer(conn, "500 Internal Server Error", {"Content-Type": "application/scim+json"},
                             json.dumps({"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"], "status": 500,
                                         "detail": "boom"}).encode())
            elif fault == "timeout_before":
                time.sleep(self.hang_seconds)
                conn.close()
            elif fault == "timeout_after":
                self._forward(request)
                time.sleep(self.hang_seconds)
                conn.close()
            elif fault == "reset_before":
                self._reset(conn)
            elif fault == "reset_after":
                self._forward(request)
                self._reset(conn)
        except OSError:
            try:
                conn.close()
            except OSError:
                pass

    def close(self):
        self._stop = True
        self.sock.close()


