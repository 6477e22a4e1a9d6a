"""Metrics beside the audit log (powertools EMF, namespace POWERTOOLS_METRICS_NAMESPACE, dimension
``service=audit``), derived from the events as they are recorded so that one place counts them:

- ``AuditWriteFailures``: an event could not be written (alarm in template.yaml);
- ``SignInFailures`` by ``reason``: a failed password step or a lockout;
- ``SsoResponses`` by ``app`` and ``outcome``: a Response issued or refused;
- ``ProvisioningFailures``: a SCIM push that failed (the app and reason as properties, so one alarm sees
  every app).

A metric never breaks what it counts."""
from __future__ import annotations

from aws_lambda_powertools import Logger

from idp.kernel.audit import AuditEvent
from idp.kernel.audit_log import WRITE_FAILURE_METRIC

log = Logger(child=True)

SERVICE = "audit"


class AuditMetrics:
    def __init__(self, namespace: str):
        self.namespace = namespace

    def _emit(self, name: str, dimensions: dict[str, str], **metadata) -> None:
        """One datum of ``name`` with these dimensions; ``metadata`` rides along (not a dimension)."""
        try:
            from aws_lambda_powertools.metrics import EphemeralMetrics

            metrics = EphemeralMetrics(namespace=self.namespace, service=SERVICE)
            for key, value in dimensions.items():
                metrics.add_dimension(name=key, value=str(value)[:200])
            for key, value in metadata.items():
                if value is not None:
                    metrics.add_metadata(key=key, value=str(value)[:200])
            self._emit_one(metrics, name)
            metrics.flush_metrics()
        except Exception:  # a metric never breaks what it counts
            log.exception("audit metric %s not emitted", name)

    def write_failed(self, event: AuditEvent) -> None:
        self._emit(WRITE_FAILURE_METRIC, {})

    def recorded(self, event: AuditEvent) -> None:
        """The metrics an event stands for (most stand for none)."""
        if event.outcome == "failure" and event.type in ("login", "lockout"):
            self._emit("SignInFailures", {"reason": event.reason or "unknown"})
        elif event.type == "sso":
            self._emit("SsoResponses", {"app": event.app or "unknown", "outcome": event.outcome})
        elif event.type == "provisioning" and event.outcome == "failure":
            self._emit("ProvisioningFailures", {}, app=event.app or "unknown", reason=event.reason)

    def _emit_one(self, metrics, name: str) -> None:
        from aws_lambda_powertools.metrics import MetricUnit

        metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)
