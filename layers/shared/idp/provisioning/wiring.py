"""Builds the provisioning objects on the real directory store, table, secrets and queue
(Lambda and the local stack); tests build them on fakes instead."""
from __future__ import annotations

import os

from idp.provisioning.consumer import Consumer
from idp.provisioning.dispatch import BreakerSettings, Dispatcher
from idp.provisioning.engine import Engine
from idp.provisioning.metrics import ProvisioningMetrics
from idp.provisioning.reconcile import Reconciler
from idp.provisioning.state import ProvisioningState


def scim_token_source(secrets=None):
    """slug → SCIM token from SSM (`apps/{slug}/scim-token`); `fresh=True` skips the cache."""

    def tokens(slug: str, fresh: bool = False) -> str | None:
        from idp.secrets import secret_store

        store = secrets or secret_store()
        name = f"apps/{slug}/scim-token"
        if fresh:
            store.invalidate(name)
        return store.get(name)

    return tokens


def _timeout() -> tuple[float, float]:
    return (float(os.environ.get("SCIM_CONNECT_TIMEOUT", 5)), float(os.environ.get("SCIM_READ_TIMEOUT", 30)))


def build_engine(directory=None, state=None, tokens=None, metrics: ProvisioningMetrics | None = None) -> Engine:
    if directory is None:
        from idp.directory.store import DirectoryStore

        directory = DirectoryStore()
    return Engine(directory, state or ProvisioningState(), tokens or scim_token_source(), timeout=_timeout(),
                  on_exchange=metrics.exchange if metrics else None)


def breaker_settings() -> BreakerSettings:
    return BreakerSettings(
        threshold=int(os.environ.get("SCIM_BREAKER_THRESHOLD", 5)),
        base_cooldown=float(os.environ.get("SCIM_BREAKER_COOLDOWN_SECONDS", 30)),
        max_cooldown=float(os.environ.get("SCIM_BREAKER_MAX_COOLDOWN_SECONDS", 600)),
        auth_retry=float(os.environ.get("SCIM_AUTH_RETRY_SECONDS", 60)),
    )


def build_consumer(directory=None, state=None, tokens=None, sqs=None, queue_url=None) -> Consumer:
    metrics = ProvisioningMetrics()
    engine = build_engine(directory, state, tokens, metrics)
    reconciler = Reconciler(engine)
    dispatcher = Dispatcher(engine, reconciler, breaker_settings(), metrics)
    if queue_url is None:
        from idp.config import get_settings

        queue_url = get_settings().events_queue_url or None
    return Consumer(dispatcher, sqs=sqs, queue_url=queue_url, metrics=metrics)


_reconciler: Reconciler | None = None


def default_reconciler() -> Reconciler:
    global _reconciler
    if _reconciler is None:
        _reconciler = Reconciler(build_engine())
    return _reconciler


def reset() -> None:
    global _reconciler
    _reconciler = None
