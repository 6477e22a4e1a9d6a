"""The SCIM transport in AWS refuses internal targets at connect time (after DNS), so the bearer token
never reaches the metadata service, loopback or a private range; and it echoes only SCIM error details."""
from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from idp.adapters.scim_client import ScimClient
from idp.scim.protocol import PermanentError, RetryLater


class _Recorder(BaseHTTPRequestHandler):
    seen: list = []
    status, body, ctype = 200, b'{"Resources": [], "totalResults": 0}', "application/scim+json"

    def do_GET(self):  # http.server's name
        type(self).seen.append(self.headers.get("Authorization"))
        self.send_response(type(self).status)
        self.send_header("Content-Type", type(self).ctype)
        self.end_headers()
        self.wfile.write(type(self).body)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    _Recorder.seen = []
    httpd = HTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def test_loopback_is_refused_before_anything_is_sent(server):
    client = ScimClient(f"http://127.0.0.1:{server.server_port}/scim/v2", "the-bearer-token", refuse_local=True, timeout=(2, 2))
    with pytest.raises(PermanentError, match="loopback"):
        client.search("Users", 'userName eq "a"')
    assert _Recorder.seen == []  # not even the request line reached the server


def test_a_name_that_resolves_inside_is_refused_too(server, monkeypatch):
    """DNS rebinding: the admin set a public-looking name; at connect time it resolves to loopback."""
    real = socket.getaddrinfo

    def rebinding(host, *args, **kwargs):
        return real("127.0.0.1" if host == "scim.rebind.example" else host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    client = ScimClient(f"http://scim.rebind.example:{server.server_port}/scim/v2", "the-bearer-token",
                        refuse_local=True, timeout=(2, 2))
    with pytest.raises(PermanentError, match="refused to connect|loopback"):
        client.search("Users", 'userName eq "a"')
    assert _Recorder.seen == []


def test_without_the_guard_the_local_stack_reaches_its_stand_in(server):
    client = ScimClient(f"http://127.0.0.1:{server.server_port}/scim/v2", "the-bearer-token", timeout=(2, 2))
    assert client.search("Users", 'userName eq "a"') == []
    assert _Recorder.seen == ["Bearer the-bearer-token"]


@pytest.mark.parametrize("status, error", [(500, RetryLater), (400, PermanentError)])
def test_a_non_scim_error_body_is_not_echoed(server, status, error):
    _Recorder.status, _Recorder.ctype = status, "text/html"
    _Recorder.body = b"<html>internal-hostname db01.corp; token=abc123</html>"
    try:
        client = ScimClient(f"http://127.0.0.1:{server.server_port}/scim/v2", "t", timeout=(2, 2))
        with pytest.raises(error) as caught:
            client.search("Users", 'userName eq "a"')
        assert "db01" not in caught.value.message and "abc123" not in caught.value.message
        assert str(status) in caught.value.message
    finally:
        _Recorder.status, _Recorder.body, _Recorder.ctype = 200, b'{"Resources": [], "totalResults": 0}', "application/scim+json"
