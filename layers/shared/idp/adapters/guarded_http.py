"""A `requests` transport that refuses to talk to internal addresses (idp.kernel.targets).

The check is made on the address the socket actually connected to, after DNS resolution, so a host
name that resolves to the metadata service or a private range (now, or after a rebinding) is
refused before a single byte (the bearer token included) is sent."""
from __future__ import annotations

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import NewConnectionError

from idp.kernel.targets import refused_address


class RefusedTarget(NewConnectionError):
    """The SCIM server's address is one the connector must not connect to."""


def _checked(conn, sock):
    peer = sock.getpeername()[0]
    reason = refused_address(peer, allow_local=False)
    if reason:
        sock.close()
        raise RefusedTarget(conn, f"refused to connect to {conn.host} ({peer}): it is {reason}")
    return sock


class _GuardedHTTPConnection(HTTPConnection):
    def _new_conn(self):
        return _checked(self, super()._new_conn())


class _GuardedHTTPSConnection(HTTPSConnection):
    def _new_conn(self):
        return _checked(self, super()._new_conn())


class _GuardedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _GuardedHTTPConnection


class _GuardedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _GuardedHTTPSConnection


class GuardedAdapter(HTTPAdapter):
    """Mount on a Session (`session.mount("https://", GuardedAdapter())`) to refuse internal targets."""

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _GuardedHTTPPool, "https": _GuardedHTTPSPool}


def guarded_session(pool_size: int = 10, *, guarded: bool = True):
    """A requests Session whose every connection is checked (`guarded=False`: a plain one); `pool_size`
    connections kept per host (a parallel reconcile reuses them rather than open one past requests' 10)."""
    import requests

    session = requests.Session()
    for prefix in ("https://", "http://"):
        session.mount(prefix, GuardedAdapter(pool_maxsize=pool_size) if guarded else HTTPAdapter(pool_maxsize=pool_size))
    return session
