"""The embedded AWS: moto's threaded server, with its DynamoDB serialized, its transactions at the cost
of the items they touch (idp_local.moto_transactions), its queries at the cost of the partition they
read (idp_local.moto_queries), and every 5xx it answers logged.

moto 5.2.5's TransactWriteItems deep-copies every table it touches and, when a condition fails,
puts that copy back: a concurrent request then races the copy (HTTP 500 "dictionary changed size
during iteration") and, worse, writes other requests made between the copy and the failed condition
are silently rolled back (a 409 on a username clash could undo a consumer's claim). DynamoDB itself
is atomic per item, so one DynamoDB request at a time inside moto loses nothing a client could rely on;
SQS, SSM and Secrets Manager keep running concurrently.
"""
from __future__ import annotations

import logging
import threading

from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import make_server

log = logging.getLogger(__name__)
#: The line the local stack logs for every 5xx the embedded AWS answers (the e2e tests fail on it).
SERVER_ERROR_MARKER = "embedded AWS answered HTTP"


class SerializedDynamoDB:
    """WSGI middleware: DynamoDB requests (X-Amz-Target DynamoDB_*) enter moto one at a time; every
    answer of status 5xx, whatever the service, is counted and logged with SERVER_ERROR_MARKER
    (botocore retries them, so a client alone would never notice)."""

    def __init__(self, app):
        self.app = app
        self.lock = threading.Lock()
        self.served = 0
        self.server_errors = 0

    def __call__(self, environ, start_response):
        target = str(environ.get("HTTP_X_AMZ_TARGET", "")) or str(environ.get("PATH_INFO", ""))

        def watching(status, headers, exc_info=None):
            if str(status)[:1] == "5":
                self.server_errors += 1
                log.error("%s %s to %s", SERVER_ERROR_MARKER, str(status).split(" ", 1)[0], target[:80])
            return start_response(status, headers, exc_info) if exc_info else start_response(status, headers)

        if not target.startswith("DynamoDB_"):
            return self.app(environ, watching)
        with self.lock:
            self.served += 1
            # The whole body is produced under the lock: moto may build it lazily.
            return list(self.app(environ, watching))


def _remember_moto_modules() -> None:
    """moto's server lists its own package directory (about 150 `isdir` calls) to route every request,
    under one lock for all services; the list never changes while the server runs."""
    from moto import backends

    modules = tuple(backends.list_of_moto_modules())
    backends.list_of_moto_modules = lambda: modules


class EmbeddedAws(ThreadedMotoServer):
    """ThreadedMotoServer whose DynamoDB requests never overlap."""

    def _server_entry(self) -> None:
        from idp_local import moto_queries, moto_transactions

        moto_transactions.install()  # a transaction costs the items it touches, not a copy of the table
        moto_queries.install()  # a query costs its partition, not a sort of the table
        _remember_moto_modules()
        self.app = SerializedDynamoDB(DomainDispatcherApplication(create_backend_app))
        self._server = make_server(self._ip_address, self._port, self.app, True, request_handler=MotoRequestHandler)
        self._server_ready_event.set()
        self._server.serve_forever()
