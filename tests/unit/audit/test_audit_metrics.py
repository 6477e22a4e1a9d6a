"""The metrics beside the audit log, as the EMF records CloudWatch would read from the function's output."""
from __future__ import annotations

import json

from idp.adapters.audit_metrics import AuditMetrics
from idp.kernel.audit import AuditEvent


def _records(capsys) -> list[dict]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{") and '"_aws"' in line]


def test_each_event_kind_counts_once_under_its_dimensions(monkeypatch, capsys):
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    metrics = AuditMetrics("TestNS")
    metrics.recorded(AuditEvent("login", "failure", reason="wrong_password"))
    metrics.recorded(AuditEvent("sso", "success", app="officespace"))
    metrics.recorded(AuditEvent("provisioning", "failure", app="officespace", reason="failed"))
    metrics.recorded(AuditEvent("admin.user.updated"))  # stands for no metric
    metrics.write_failed(AuditEvent("login"))
    got = {}
    for record in _records(capsys):
        (directive,) = record["_aws"]["CloudWatchMetrics"]
        (metric,) = directive["Metrics"]
        assert directive["Namespace"] == "TestNS" and record["service"] == "audit"
        got[metric["Name"]] = {d: record[d] for d in directive["Dimensions"][0] if d != "service"}
        if metric["Name"] == "ProvisioningFailures":
            assert record["app"] == "officespace" and record["reason"] == "failed"  # properties, not dimensions
    assert got == {"SignInFailures": {"reason": "wrong_password"}, "SsoResponses": {"app": "officespace", "outcome": "success"},
                   "ProvisioningFailures": {}, "AuditWriteFailures": {}}
