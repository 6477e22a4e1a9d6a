"""The embedded AWS: moto's threaded server, with its DynamoDB serialized.

moto 5.2.5's TransactWriteItems deep-copies every table it touches and, when a condition fails,
puts that copy back: a concurrent request then races the copy (HTTP 500 "dictionary changed size
during iteration") and, worse, writes other requests made between the copy and the failed condition
are silently rolled back (a 409 on a username clash could undo a consumer's claim). DynamoDB itself
is atomic per item, so one DynamoDB request at a time inside moto loses nothing a client could rely on;
SQS, SSM and Secrets Manager keep running concurrently.
"""
from __future__ import annotations

import threading

from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import make_server


class SerializedDynamoDB:
    """WSGI middleware: DynamoDB requests (X-Amz-Target DynamoDB_*) enter moto one at a time."""

    def __init__(self, app):
        self.app = app
        self.lock = threading.Lock()
        self.served = 0

    def __call__(self, environ, start_response):
        if not str(environ.get("HTTP_X_AMZ_TARGET", "")).startswith("DynamoDB_"):
            return self.app(environ, start_response)
        with self.lock:
            self.served += 1
            # The whole body is produced under the lock: moto may build it lazily.
            return list(self.app(environ, start_response))


class EmbeddedAws(ThreadedMotoServer):
    """ThreadedMotoServer whose DynamoDB requests never overlap."""

    def _server_entry(self) -> None:
        self.app = SerializedDynamoDB(DomainDispatcherApplication(create_backend_app))
        self._server = make_server(self._ip_address, self._port, self.app, True, request_handler=MotoRequestHandler)
        self._server_ready_event.set()
        self._server.serve_forever()
