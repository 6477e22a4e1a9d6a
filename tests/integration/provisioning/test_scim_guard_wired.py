"""The connect-time SSRF guard where it runs (issue 22, item 6): the `Container` built from settings as a
Lambda function builds it (no IDP_ALLOW_LOCAL_TARGETS in AWS) gives the engine a SCIM transport that
refuses a host name resolving to an internal address before a byte is sent. On main 3511b39 the
composition root built a plain ScimClient and the request went through."""
from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from idp.scim.protocol import PermanentError


class _Seen(BaseHTTPRequestHandler):
    seen: list = []

    def do_GET(self):  # http.server's name
        type(self).seen.append(self.headers.get("Authorization"))
        self.send_response(200)
        self.send_header("Content-Type", "application/scim+json")
        self.end_headers()
        self.wfile.write(b'{"Resources": [], "totalResults": 0}')

    def log_message(self, *args):
        pass


def test_the_lambda_container_refuses_a_name_that_resolves_inside(aws_env, monkeypatch):
    from idp import bootstrap

    httpd = HTTPServer(("127.0.0.1", 0), _Seen)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    real = socket.getaddrinfo
    monkeypatch.setattr(socket, "getaddrinfo",
                        lambda host, *a, **kw: real("127.0.0.1" if host == "scim.rebind.example" else host, *a, **kw))
    monkeypatch.delenv("IDP_ALLOW_LOCAL_TARGETS")  # as in AWS
    _Seen.seen = []
    try:
        bootstrap.reset()
        engine = bootstrap.container().engine
        client = engine.clients.factory(f"https://scim.rebind.example:{httpd.server_port}/scim/v2", "the-token",
                                       timeout=(2, 2))
        with pytest.raises(PermanentError, match="refused to connect|loopback"):
            client.search("Users", 'userName eq "a"')
        assert _Seen.seen == []  # the token never left
    finally:
        httpd.shutdown()
        httpd.server_close()
        bootstrap.reset()
