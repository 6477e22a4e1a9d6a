"""A hostile SCIM SP on loopback for tests: it answers every request 200/201 with what a broken or
malicious server might send. `mode` (changeable while it runs) picks the behaviour:

- ``deep``: ``[`` x 200,000 (JSON nested past any parser's recursion limit);
- ``shapes``: the wrong shapes: a list ``{"Resources": ["x", 1]}``, ``"totalResults": "many"``, a create
  answered with a JSON list;
- ``dotdot``: every resource, created or listed, has the id ``..``;
- ``trickle``: a slow loris: the headers at once, then one byte of body every `trickle_every` seconds, forever;
- ``trickle_headers``: the status line and headers themselves one byte at a time;
- ``huge``: an 80 MB answer streamed without a Content-Length (the connection's close ends it);
- ``ok``: an empty, well-behaved SP (lists nothing, creates with a fresh id).

`hits` counts the requests per mode; `open_streams` how many answers are being written right now."""
from __future__ import annotations

import itertools
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MODES = ("deep", "shapes", "dotdot", "trickle", "trickle_headers", "huge", "ok")
HUGE_BYTES = 80 * 1024 * 1024


class HostileSp:
    def __init__(self, mode: str = "deep", token: str = "hostile-token", trickle_every: float = 0.5):
        self.mode, self.token, self.trickle_every = mode, token, trickle_every
        self.hits: dict[str, int] = {}
        self.requests: list[tuple[str, str, str]] = []  # (mode, method, path)
        self.open_streams = 0
        self.huge_sent = 0  # bytes of the last huge answer the client took before it hung up
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._closing = threading.Event()
        sp = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def log_message(self, *args):
                pass

            def _any(self):
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                sp._answer(self)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _any

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_port
        self.base_url = f"http://127.0.0.1:{self.port}/scim/v2"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    # ---------------------------------------------------------------- answers
    def _answer(self, h: BaseHTTPRequestHandler) -> None:
        mode = self.mode
        with self._lock:
            self.hits[mode] = self.hits.get(mode, 0) + 1
            self.requests.append((mode, h.command, h.path))
            self.open_streams += 1
        try:
            if mode in ("trickle", "trickle_headers"):
                self._trickle(h, headers_too=mode == "trickle_headers")
            elif mode == "huge":
                self._huge(h)
            else:
                status, body = self._body(mode, h.command, h.path)
                self._send(h, status, body)
        except OSError:
            pass  # the client hung up (as it should on a hostile answer)
        finally:
            with self._lock:
                self.open_streams -= 1

    def _body(self, mode: str, method: str, path: str) -> tuple[int, bytes]:
        created = 201 if method == "POST" else 200
        if mode == "deep":
            return created, b"[" * 200_000
        if mode == "shapes":
            if method == "POST":
                return created, b'["x", 1]'
            return 200, json.dumps({"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
                                    "totalResults": "many", "Resources": ["x", 1]}).encode()
        if mode == "dotdot":
            one = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "id": "..", "userName": "someone",
                   "active": True}
            if method == "POST" or path.rstrip("/").count("/") > 3:
                return created, json.dumps(one).encode()
            return 200, json.dumps({"totalResults": 1, "startIndex": 1, "itemsPerPage": 1, "Resources": [one]}).encode()
        # ok
        if method == "POST":
            return 201, json.dumps({"id": f"ok-{next(self._ids)}", "userName": "x", "displayName": "x"}).encode()
        if method == "GET" and "?" in path:
            return 200, json.dumps({"totalResults": 0, "startIndex": 1, "itemsPerPage": 0, "Resources": []}).encode()
        return 204, b""

    def _send(self, h: BaseHTTPRequestHandler, status: int, body: bytes) -> None:
        h.send_response(status)
        h.send_header("Content-Type", "application/scim+json")
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    def _trickle(self, h: BaseHTTPRequestHandler, headers_too: bool) -> None:
        body = b'{"totalResults": 0, "Resources": []}' + b" " * 10_000
        head = (b"HTTP/1.0 200 OK\r\nContent-Type: application/scim+json\r\n"
                + f"Content-Length: {len(body)}\r\n\r\n".encode())
        if not headers_too:
            h.wfile.write(head)
            h.wfile.flush()
            head = b""
        for byte in head + body:
            if self._closing.wait(self.trickle_every):
                return
            h.wfile.write(bytes([byte]))
            h.wfile.flush()

    def _huge(self, h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "application/scim+json")
        h.end_headers()  # no Content-Length: the answer ends when the connection closes
        item = b'{"id": "u", "userName": "' + b"x" * 200 + b'"},'
        chunk = item * (64 * 1024 // len(item))
        sent = 0
        self.huge_sent = 0
        h.wfile.write(b'{"totalResults": 1, "Resources": [')
        while sent < HUGE_BYTES and not self._closing.is_set():
            h.wfile.write(chunk)
            sent += len(chunk)
            self.huge_sent = sent
        h.wfile.write(b'{"id": "last"}]}')

    # ---------------------------------------------------------------- lifecycle
    def wait_for(self, mode: str, timeout: float = 10.0) -> bool:
        """Wait until a request has been answered in `mode`."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.hits.get(mode):
                return True
            time.sleep(0.02)
        return False

    def close(self) -> None:
        self._closing.set()
        self.server.shutdown()
        self.server.server_close()
