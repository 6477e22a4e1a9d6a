"""`MailSendFailures` (powertools EMF, dimension ``service=mail``; the message's template name as a
property): a message that did not leave. template.yaml alarms on it. A metric never breaks what it counts."""
from __future__ import annotations

from aws_lambda_powertools import Logger

log = Logger(child=True)

METRIC = "MailSendFailures"


class MailMetrics:
    def __init__(self, namespace: str):
        self.namespace = namespace

    def send_failed(self, template: str, reason: str) -> None:
        try:
            from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit

            metrics = EphemeralMetrics(namespace=self.namespace, service="mail")
            metrics.add_metadata(key="template", value=template[:100])
            metrics.add_metadata(key="reason", value=reason[:200])
            metrics.add_metric(name=METRIC, unit=MetricUnit.Count, value=1)
            metrics.flush_metrics()
        except Exception:  # a metric never breaks what it counts
            log.exception("mail metric not emitted")
