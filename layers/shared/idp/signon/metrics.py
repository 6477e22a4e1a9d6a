"""The sign-in metric: one ``LoginFailures`` datum (powertools EMF, dimension ``service=signon``) per
failed login, a wrong password or a try refused by the throttle; the reason rides along as a
property, not a dimension, so one alarm on the sum sees every spike (template.yaml)."""
from __future__ import annotations

from aws_lambda_powertools import Logger

log = Logger(child=True)

SERVICE = "signon"
METRIC = "LoginFailures"


class LoginMetrics:
    def __init__(self, namespace: str):
        self.namespace = namespace

    def login_failure(self, reason: str) -> None:
        """Emit one LoginFailures datum now (a metric never breaks a login)."""
        try:
            from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit

            metrics = EphemeralMetrics(namespace=self.namespace, service=SERVICE)
            metrics.add_metric(name=METRIC, unit=MetricUnit.Count, value=1)
            metrics.add_metadata(key="reason", value=reason)
            metrics.flush_metrics()
        except Exception:  # a metric never breaks a login
            log.exception("login metric not emitted")
