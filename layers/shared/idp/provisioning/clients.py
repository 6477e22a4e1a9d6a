"""The per-app SCIM client cache: one client per app, rebuilt when the base URL or the token changes;
after a 401/403 the token is read afresh (it may have been fixed) on the next use."""
from __future__ import annotations

from typing import Callable

from idp.provisioning.planner import ProvisioningConfig
from idp.provisioning.ports import ClientFactory, ScimApi, TokenSource
from idp.scim.protocol import AuthError, Exchange


class ScimClients:
    def __init__(self, tokens: TokenSource, factory: ClientFactory, *, timeout: float | tuple[float, float],
                 on_exchange: Callable[[str, Exchange], None] | None = None,
                 retry_wait: Callable[[float, int], bool] | None = None):
        self.tokens = tokens
        self.factory = factory
        self.timeout = timeout
        self.on_exchange = on_exchange
        self.retry_wait = retry_wait
        self._clients: dict[str, ScimApi] = {}
        self._fresh_token: set[str] = set()

    def credentials_failed(self, slug: str) -> None:
        """After a 401/403: read the token afresh next time (it may have been fixed)."""
        self._fresh_token.add(slug)
        self._clients.pop(slug, None)

    def client_for(self, cfg: ProvisioningConfig) -> ScimApi:
        fresh = cfg.slug in self._fresh_token
        token = self.tokens(cfg.slug, fresh) if fresh else self.tokens(cfg.slug)
        self._fresh_token.discard(cfg.slug)
        if not token:
            raise AuthError("no SCIM token is set for this app", status=0)
        client = self._clients.get(cfg.slug)
        if client is None or client.base_url != cfg.base_url.rstrip("/") or client.token != token:
            slug, on_exchange = cfg.slug, self.on_exchange
            hook = (lambda ex, slug=slug: on_exchange(slug, ex)) if on_exchange else None
            client = self.factory(cfg.base_url, token, timeout=self.timeout, on_exchange=hook, retry_wait=self.retry_wait)
            self._clients[cfg.slug] = client
        return client
