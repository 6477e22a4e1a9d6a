"""Start the stand-in on one port, in a background thread."""
from __future__ import annotations

import logging
import secrets
import threading
from dataclasses import dataclass, field
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from .scim import MOUNT as SCIM_MOUNT
from .scim import build_scim, snapshot
from .sp import NAMEID_EMAIL, SamlSP
from .web import StandinApp

log = logging.getLogger("officespace_standin")

ACS_PATH = "/users/sign_in/saml"  # OfficeSpace's sign-on URL path
SLO_PATH = "/saml/slo"


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # stdlib signature
        log.debug("%s - %s", self.address_string(), format % args)


@dataclass
class StandinHandle:
    host: str
    port: int
    base_url: str
    sp_entity_id: str
    acs_url: str
    scim_base_url: str
    scim_token: str
    idp_base_url: str
    app_slug: str
    metadata_url: str
    app: StandinApp = field(repr=False)
    _server: WSGIServer = field(repr=False)
    _thread: threading.Thread = field(repr=False)

    @property
    def sign_ins(self) -> list[dict]:
        """The SP's sign-in log, newest first (accepted and rejected Responses)."""
        with self.app.sp._lock:
            return list(self.app.sp.sign_ins)

    def scim_snapshot(self) -> dict:
        """The users and groups in the SCIM store now."""
        return snapshot(self.app.scim.storage)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop serving, close the socket and join the thread (idempotent)."""
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join(timeout)
        self._server.server_close()


def start_standin(host: str, port: int, idp_base_url: str, app_slug: str = "officespace",
                  scim_token: str | None = None, *, sp_entity_id: str | None = None,
                  nameid_format: str = NAMEID_EMAIL, metadata_cache_seconds: float = 5.0) -> StandinHandle:
    """Bind ``host:port`` (0 = any free port), serve in a daemon thread, return once listening.

    Raises OSError when the port cannot be bound.

    The SP entity ID is the bare host, as OfficeSpace's is (``<company>.officespacesoftware.com``).
    Not ``host:port``: "127.0.0.1:3001" is not a valid xs:anyURI (a scheme must start with a
    letter), so python3-saml's schema check rejects every Response whose Audience carries it.
    """
    token = scim_token or secrets.token_urlsafe(32)
    scim = build_scim(token)
    # Bind first, so the URLs carry the real port when port=0.
    server = make_server(host, port, lambda e, s: app(e, s), server_class=_ThreadingWSGIServer,
                         handler_class=_QuietHandler)
    try:
        real_port = server.server_address[1]
        base_url = f"http://{host}:{real_port}"
        metadata_url = f"{idp_base_url.rstrip('/')}/saml2/{app_slug}/metadata"
        sp = SamlSP(base_url=base_url, sp_entity_id=sp_entity_id or host, acs_url=f"{base_url}{ACS_PATH}",
                    slo_url=f"{base_url}{SLO_PATH}", metadata_url=metadata_url, nameid_format=nameid_format,
                    metadata_cache_seconds=metadata_cache_seconds)
        app = StandinApp(sp=sp, scim=scim, base_url=base_url)
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2},
                                  name=f"officespace-standin-{real_port}", daemon=True)
        thread.start()
    except BaseException:
        server.server_close()
        raise
    handle = StandinHandle(
        host=host, port=real_port, base_url=base_url, sp_entity_id=sp.sp_entity_id, acs_url=sp.acs_url,
        scim_base_url=f"{base_url}{SCIM_MOUNT}/v2", scim_token=token, idp_base_url=idp_base_url,
        app_slug=app_slug, metadata_url=metadata_url, app=app, _server=server, _thread=thread,
    )
    log.info("OfficeSpace stand-in listening on %s (SCIM %s)", base_url, handle.scim_base_url)
    return handle
