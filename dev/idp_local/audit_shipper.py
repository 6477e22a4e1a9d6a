"""The local stand-in of SamlLoginLogGroup's subscription (issue 25 item 5), used only when the local stack runs
with AUDIT_SSO_DELIVERY=log; never in AWS.

The login routes append each `sso` audit event as a `{"idp_audit": <item>}` line to the spool file
(AUDIT_SPOOL_PATH, idp.adapters.audit_shipping.SpoolLines). A daemon thread tails it every `interval` seconds
(LOCAL_AUDIT_SHIP_SECONDS, 0.25 by default): it packs the complete lines past its checkpoint in CloudWatch Logs'
subscription shape (gzip + base64 JSON with logEvents) and calls AuditShipFunction's handler, then writes the
new offset to the checkpoint file (`<spool>.checkpoint`, replaced atomically). A batch the handler refuses is
tried again on the next tick, as Lambda retries an asynchronous invocation. A stack killed between the handler
and the checkpoint delivers the batch again when it restarts: harmless, the writer is idempotent."""
from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path
from typing import Any, Callable

log = logging.getLogger("idp_local.audit_shipper")

MAX_BATCH_BYTES = 256 * 1024  # a CloudWatch Logs event is at most 256 KB; a batch here at most this much spool
LOG_GROUP = "/aws/lambda/officespace-idp-local/saml-login"


class AuditShipper:
    """Delivers the spool's new lines to `handler` (AuditShipFunction's), resuming from its checkpoint."""

    def __init__(self, spool: Path, handler: Callable[[dict, Any], Any], interval: float = 0.25) -> None:
        self.spool = Path(spool)
        self.checkpoint = self.spool.with_name(self.spool.name + ".checkpoint")
        self.handler = handler
        self.interval = interval
        self.delivered = 0  # lines handed over by this process (a redelivered line counts again)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def offset(self) -> int:
        """The spool offset every line before which has been delivered (0 with no checkpoint)."""
        try:
            return int(self.checkpoint.read_text().strip() or 0)
        except FileNotFoundError:
            return 0

    def _save(self, offset: int) -> None:
        tmp = self.checkpoint.with_name(self.checkpoint.name + ".tmp")
        tmp.write_text(str(offset))
        os.replace(tmp, self.checkpoint)

    def ship_once(self) -> int:
        """Deliver the complete lines past the checkpoint (at most MAX_BATCH_BYTES); the number of lines delivered."""
        from idp.adapters.audit_ship_writer import encode
        from idp_local.event_source import LambdaContext

        offset = self.offset()
        try:
            size = self.spool.stat().st_size
        except FileNotFoundError:
            return 0
        if size < offset:  # the spool was replaced: start it over
            offset = 0
        with self.spool.open("rb") as fh:
            fh.seek(offset)
            data = fh.read(MAX_BATCH_BYTES)
        cut = data.rfind(b"\n") + 1  # a line still being written waits for the next tick
        if cut == 0:
            return 0
        now = int(time.time() * 1000)
        lines, events, position = data[:cut].split(b"\n")[:-1], [], offset
        for line in lines:
            events.append((str(position), now, line.decode("utf-8", "replace")))
            position += len(line) + 1
        self.handler(encode(LOG_GROUP, f"local/{self.spool.name}", events), LambdaContext("AuditShipFunction"))
        self._save(offset + cut)
        self.delivered += len(lines)
        return len(lines)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                while self.ship_once():  # a backlog goes out batch after batch
                    pass
            except Exception:  # a refused batch is tried again next tick, as Lambda retries it
                log.exception("audit shipping failed; the batch will be delivered again")
            self._stop.wait(self.interval)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="audit-shipper", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)
