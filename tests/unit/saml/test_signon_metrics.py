"""The failed-login metric (one LoginFailures datum per failure, EMF) and the alarm on a spike of them."""
from __future__ import annotations

import json
from pathlib import Path

from idp.signon.metrics import SERVICE, LoginMetrics
from idp_local.cfn import load_template

ROOT = Path(__file__).resolve().parents[3]


def test_each_failure_is_one_login_failures_datum_in_emf(monkeypatch, capsys):
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    metrics = LoginMetrics("OfficeSpaceIdP")
    metrics.login_failure("wrong_credentials")
    metrics.login_failure("throttled")
    docs = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert len(docs) == 2
    for doc in docs:
        (directive,) = doc["_aws"]["CloudWatchMetrics"]
        assert directive["Namespace"] == "OfficeSpaceIdP" and directive["Dimensions"] == [["service"]]
        assert [m["Name"] for m in directive["Metrics"]] == ["LoginFailures"]
        value = doc["LoginFailures"]
        assert (value if isinstance(value, list) else [value]) == [1.0] and doc["service"] == SERVICE
    assert [d["reason"] for d in docs] == ["wrong_credentials", "throttled"]  # a property, not a dimension


def test_metrics_never_break_a_login(monkeypatch):
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    LoginMetrics("").login_failure("wrong_credentials")  # an invalid namespace is logged, not raised


def test_an_alarm_fires_on_a_spike_of_failed_logins():
    tpl = load_template(ROOT / "template.yaml")
    alarms = [r["Properties"] for r in tpl["Resources"].values()
              if r["Type"] == "AWS::CloudWatch::Alarm" and r["Properties"].get("MetricName") == "LoginFailures"]
    (alarm,) = alarms
    namespace = tpl["Globals"]["Function"]["Environment"]["Variables"]["POWERTOOLS_METRICS_NAMESPACE"]
    assert alarm["Namespace"] == namespace
    assert alarm["Dimensions"] == [{"Name": "service", "Value": SERVICE}]  # exactly what the login flow emits
    assert alarm["Statistic"] == "Sum" and alarm["ComparisonOperator"] == "GreaterThanThreshold" and alarm["Threshold"] > 0
    assert alarm["TreatMissingData"] == "notBreaching"
    assert alarm["AlarmActions"] == {"Fn::If": ["HasAlarmTopic", [{"Ref": "AlarmTopicArn"}], {"Ref": "AWS::NoValue"}]}
