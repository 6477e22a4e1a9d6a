"""The embedded AWS: moto's threaded server, in a process of its own (`EmbeddedAwsProcess`), with its DynamoDB serialized, its transactions at the cost
of the items they touch (idp_local.moto_transactions), its queries at the cost of the partition they
read (idp_local.moto_queries), its messages at the cost of themselves (idp_local.moto_queues), its items answered without a walk of
the API model (idp_local.moto_items), and every 5xx it answers logged.

moto 5.2.5's TransactWriteItems deep-copies every table it touches and, when a condition fails,
puts that copy back: a concurrent request then races the copy (HTTP 500 "dictionary changed size
during iteration") and, worse, writes other requests made between the copy and the failed condition
are silently rolled back (a 409 on a username clash could undo a consumer's claim). DynamoDB itself
is atomic per item, so one DynamoDB request at a time inside moto loses nothing a client could rely on;
SQS, SSM and Secrets Manager keep running concurrently.

The local stack runs it in a child process: the functions reach AWS only through AWS_ENDPOINT_URL, as
in AWS, and moto's half of every call (parsing, the model, the answer) no longer takes the stack's
interpreter lock. Measured with `make bench` (section converge): the stack process ran at one full core
while the embedded AWS answered from inside it.
"""
from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
from pathlib import Path

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


def embedded_app() -> SerializedDynamoDB:
    """moto's WSGI application for every service, patched as the module docstring says."""
    from idp_local import moto_items, moto_queries, moto_queues, moto_transactions

    moto_transactions.install()  # a transaction costs the items it touches, not a copy of the table
    moto_queries.install()  # a query costs its partition, not a sort of the table
    moto_queues.install()  # a message costs itself, not a count of the queue
    moto_items.install()  # an item is answered as it is stored, not walked through the API model
    _remember_moto_modules()
    return SerializedDynamoDB(DomainDispatcherApplication(create_backend_app))


class EmbeddedAws(ThreadedMotoServer):
    """ThreadedMotoServer whose DynamoDB requests never overlap (in this process, on werkzeug's server)."""

    def _server_entry(self) -> None:
        self.app = embedded_app()
        self._server = make_server(self._ip_address, self._port, self.app, True, request_handler=MotoRequestHandler)
        self._server_ready_event.set()
        self._server.serve_forever()


def serve_until_stdin_closes(ip_address: str = "127.0.0.1") -> None:
    """The child's whole life (`python -m idp_local.moto_server`): serve, print where as one JSON line, and
    stop when the parent writes a line or is gone (its end of stdin closes however it dies)."""
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "INFO"), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("werkzeug", "botocore", "urllib3", "moto"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    server = EmbeddedAws(ip_address=ip_address, port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    print(json.dumps({"host": host, "port": port}), flush=True)
    sys.stdin.readline()
    server.stop()


class EmbeddedAwsProcess:
    """`EmbeddedAws` in a child process (`python -m idp_local.moto_server`), with the same
    start / get_host_and_port / stop as the in-process server."""

    def __init__(self, ip_address: str = "127.0.0.1", start_timeout: float = 60.0):
        self.ip_address = ip_address
        self.start_timeout = start_timeout
        self._address: tuple[str, int] | None = None
        self._process: subprocess.Popen | None = None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def start(self) -> None:
        here = str(Path(__file__).resolve().parent.parent)
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (here, os.environ.get("PYTHONPATH")) if p)}
        # stderr is the parent's: the child's log lines (5xx markers among them) land in the stack's log.
        self._process = subprocess.Popen([sys.executable, "-m", "idp_local.moto_server", self.ip_address], env=env,
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        ready: list[str] = []
        reader = threading.Thread(target=lambda: ready.append(self._process.stdout.readline()), daemon=True)
        reader.start()
        reader.join(self.start_timeout)
        if not ready or not ready[0].strip():
            self.stop()
            raise RuntimeError(f"the embedded AWS did not start within {self.start_timeout:g} s")
        where = json.loads(ready[0])
        self._address = (where["host"], int(where["port"]))

    def get_host_and_port(self) -> tuple[str, int]:
        if self._address is None:
            raise RuntimeError("the embedded AWS is not started")
        return self._address

    def stop(self) -> None:
        if self._process is None:
            return
        try:
            self._process.stdin.write("stop\n")
            self._process.stdin.close()
        except (OSError, ValueError):
            pass
        try:
            self._process.wait(5)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(5)
        self._process = None


if __name__ == "__main__":
    serve_until_stdin_closes(*sys.argv[1:2])
