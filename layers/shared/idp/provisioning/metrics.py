"""Provisioning metrics per app (powertools EMF): pushes, failures, retries and request latency
accumulate in memory during one invocation (tests read `totals`), and `flush()` emits one EMF
document per app with the dimension `app`, in the namespace the composition root reads from Settings
(POWERTOOLS_METRICS_NAMESPACE)."""
from __future__ import annotations

import threading
from collections import defaultdict

from aws_lambda_powertools import Logger

from idp.scim.protocol import Exchange

log = Logger(child=True)

SERVICE = "scim-push"


class ProvisioningMetrics:
    def __init__(self, namespace: str = "OfficeSpaceIdP"):  # the root passes Settings.metrics_namespace
        self.namespace = namespace
        self._lock = threading.Lock()
        self._pending: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
        self.totals: dict[tuple[str, str], float] = defaultdict(float)

    def _add(self, slug: str, name: str, value: float) -> None:
        with self._lock:
            self._pending[slug][name].append(value)
            self.totals[(slug, name)] += value if name != "RequestLatency" else 1

    def exchange(self, slug: str, ex: Exchange) -> None:
        self._add(slug, "Requests", 1)
        self._add(slug, "RequestLatency", round(ex.elapsed_ms, 2))
        if ex.status == 0 or ex.status >= 500 or ex.status == 429:
            self._add(slug, "TransientFailures", 1)
        elif ex.status >= 400:
            self._add(slug, "Failures", 1)

    def push(self, slug: str, outcome: str) -> None:
        if outcome not in ("no_change", "skipped", "left"):
            self._add(slug, "Pushes", 1)

    def retry(self, slug: str) -> None:
        self._add(slug, "Retries", 1)

    def failure(self, slug: str) -> None:
        self._add(slug, "PermanentFailures", 1)

    def flush(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, defaultdict(lambda: defaultdict(list))
        if not pending:
            return
        try:
            from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit
        except ImportError:  # pragma: no cover
            return
        for slug, metrics in pending.items():
            try:
                m = EphemeralMetrics(namespace=self.namespace, service=SERVICE)
                m.add_dimension(name="app", value=slug)
                for name, values in metrics.items():
                    unit = MetricUnit.Milliseconds if name == "RequestLatency" else MetricUnit.Count
                    if name == "RequestLatency":
                        for v in values[:100]:  # EMF takes at most 100 values per metric
                            m.add_metric(name=name, unit=unit, value=v)
                    else:
                        m.add_metric(name=name, unit=unit, value=sum(values))
                m.flush_metrics()
            except Exception:  # metrics never break provisioning
                log.exception("metrics flush failed", extra={"app": slug})
