"""A proxy in front of an AWS endpoint that fails as AWS does (contract section 13, issue 25): throttling
and errors at chosen rates per service, and outages, decided before the request is forwarded (a refused
request changed nothing). The stack under test points AWS_ENDPOINT_URL at it.

The service of a request is read from its SigV4 credential scope (`.../us-east-1/dynamodb/aws4_request`).
Answers are the ones each service sends: DynamoDB's `ProvisionedThroughputExceededException` (400) and
`InternalServerError` (500), a 500 `InternalFailure` for the others, and during an outage a 503
`ServiceUnavailable`."""
from __future__ import annotations

import http.client
import json
import random
import re
import threading
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/[^/]+/([^/]+)/aws4_request")
_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}


@dataclass
class Faults:
    """Per service: the share of requests throttled and failed, and whether it is out altogether."""
    throttle: dict[str, float] = field(default_factory=dict)
    error: dict[str, float] = field(default_factory=dict)
    down: set[str] = field(default_factory=set)


class AwsFaultProxy:
    def __init__(self, upstream: tuple[str, int], seed: int = 7):
        self.upstream = upstream
        self.faults = Faults()
        self.lock = threading.Lock()
        self.rand = random.Random(seed)
        self.injected: Counter = Counter()  # (service, kind) -> count
        self.forwarded: Counter = Counter()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _any(self):
                proxy._handle(self)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _any

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._local = threading.local()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> "AwsFaultProxy":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def set(self, throttle: dict[str, float] | None = None, error: dict[str, float] | None = None,
            down: set[str] | None = None) -> None:
        with self.lock:
            self.faults = Faults(dict(throttle or {}), dict(error or {}), set(down or ()))

    # ------------------------------------------------------------------ one request
    def _fault(self, service: str) -> str | None:
        with self.lock:
            faults, roll = self.faults, self.rand.random()
        if service in faults.down:
            return "down"
        if roll < faults.throttle.get(service, 0.0):
            return "throttle"
        if roll < faults.throttle.get(service, 0.0) + faults.error.get(service, 0.0):
            return "error"
        return None

    def _handle(self, req: BaseHTTPRequestHandler) -> None:
        length = int(req.headers.get("Content-Length") or 0)
        body = req.rfile.read(length) if length else b""
        match = _SCOPE.search(req.headers.get("Authorization", ""))
        service = match.group(1) if match else "unknown"
        kind = self._fault(service)
        if kind is not None:
            with self.lock:
                self.injected[(service, kind)] += 1
            status, payload = _answer(service, kind)
            req.send_response(status)
            req.send_header("Content-Type", "application/x-amz-json-1.0")
            req.send_header("Content-Length", str(len(payload)))
            req.end_headers()
            req.wfile.write(payload)
            return
        with self.lock:
            self.forwarded[service] += 1
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = http.client.HTTPConnection(*self.upstream, timeout=30)
        headers = {k: v for k, v in req.headers.items() if k.lower() not in _HOP}
        try:
            conn.request(req.command, req.path, body=body, headers=headers)
            answer = conn.getresponse()
            data = answer.read()
        except (OSError, http.client.HTTPException):
            self._local.conn = None
            conn.close()
            req.send_response(502)
            req.send_header("Content-Length", "0")
            req.end_headers()
            return
        req.send_response(answer.status)
        for key, value in answer.getheaders():
            if key.lower() not in _HOP:
                req.send_header(key, value)
        req.send_header("Content-Length", str(len(data)))
        req.end_headers()
        req.wfile.write(data)


def _answer(service: str, kind: str) -> tuple[int, bytes]:
    if kind == "throttle":
        code = "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException" if service == "dynamodb" \
            else "ThrottlingException"
        return 400, json.dumps({"__type": code, "message": "Rate exceeded (injected)"}).encode()
    if kind == "down":
        return 503, json.dumps({"__type": "ServiceUnavailable", "message": "Service unavailable (injected)"}).encode()
    code = "com.amazonaws.dynamodb.v20120810#InternalServerError" if service == "dynamodb" else "InternalFailure"
    return 500, json.dumps({"__type": code, "message": "Internal error (injected)"}).encode()
