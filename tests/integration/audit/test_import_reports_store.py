"""Import reports in DynamoDB (moto): a report larger than one item round-trips in chunks, is confirmed
once, and is gone once expired."""
from __future__ import annotations

import random
import string


def test_a_large_report_round_trips_is_confirmed_once_and_expires(aws_env):
    from idp.adapters.import_reports import DynamoImportReports
    from idp.bootstrap import container

    now = [1_796_000_000.0]
    reports = DynamoImportReports(container().table, clock=lambda: now[0])
    rng = random.Random(3)
    rows = [{"sp_id": "".join(rng.choices(string.ascii_letters, k=36)), "userName": "".join(rng.choices(string.ascii_letters, k=40)),
             "status": "unmatched"} for _ in range(12_000)]  # about 1 MB compressed: four chunks
    reports.put("os", "imp-1", {"items": rows, "to_create": [], "sp_states": {}})
    from boto3.dynamodb.conditions import Key

    stored = container().table.query(KeyConditionExpression=Key("pk").eq("IMPORT#os#imp-1"))["Items"]
    assert len(stored) > 2 and all(len(i["body"].value) <= 300_000 for i in stored if "body" in i)  # a head, several chunks
    got = reports.get("os", "imp-1")
    assert got["items"] == rows and got["confirmed_at"] is None
    assert reports.mark_confirmed("os", "imp-1") is True and reports.mark_confirmed("os", "imp-1") is False
    assert reports.get("os", "imp-1")["confirmed_at"]
    assert reports.mark_confirmed("os", "imp-nope") is False and reports.get("os", "imp-nope") is None
    now[0] += 8 * 86400
    assert reports.get("os", "imp-1") is None
