"""Benchmark 9: the CSV import of users (contract section 10) on the local stack.

`python -m idp_local` in a subprocess (its embedded AWS, the import queue feeding ImportJobFunction as Lambda's
event source mapping would, LOCAL_CONSUMERS pollers) and an empty directory: POST /admin/imports/users with an
N-row file (the preview: every row read, validated and planned against the directory, the plan stored), then
POST .../confirm and GET .../{id} every 0.25 s until the import is done. Preview seconds (target <= 10 s for
10,000 rows), confirm users/s from the confirm call to the first GET that reads ``done`` (target >= 100).

DynamoDB writes per imported user (target <= 3) are counted in this process: moto in-process, the same
`UserImports.apply_chunk` the function runs, over a table whose low-level client counts every PutItem,
UpdateItem, DeleteItem, BatchWriteItem and TransactWriteItems call (one call, however many items it writes).
"""
from __future__ import annotations

import tempfile
import time
from pathlib import Path

PREVIEW_TARGET_S = 10.0
RATE_TARGET = 100.0
WRITES_TARGET = 3.0
TIMEOUT_S = 600.0
HEADER = "username,email,firstname,lastname,department,title,state\n"


def csv_file(rows: int, prefix: str = "bench") -> bytes:
    return (HEADER + "".join(f"{prefix}{i},{prefix}{i}@example.com,First{i},Last{i},Dept {i % 20},Title {i % 7},ACTIVE\n"
                             for i in range(rows))).encode()


def on_the_local_stack(rows: int) -> dict:
    from idp_testing.stack import start_stack, stop_stack

    stack = start_stack(Path(tempfile.mkdtemp(prefix="bench-import-")))
    try:
        session, base = stack.admin(), stack.base_url
        data = csv_file(rows)
        t0 = time.monotonic()
        answer = session.post(f"{base}/admin/imports/users", data=data, headers={"Content-Type": "text/csv"}, timeout=120)
        preview_s = time.monotonic() - t0
        if answer.status_code != 201:
            raise RuntimeError(f"preview: {answer.status_code} {answer.text[:300]}")
        preview = answer.json()
        t1 = time.monotonic()
        confirmed = session.post(f"{base}/admin/imports/users/{preview['id']}/confirm", json={}, timeout=60)
        if confirmed.status_code != 202:
            raise RuntimeError(f"confirm: {confirmed.status_code} {confirmed.text[:300]}")
        confirm_call_s = time.monotonic() - t1
        status: dict = {}
        while time.monotonic() - t1 < TIMEOUT_S:
            status = session.get(f"{base}/admin/imports/users/{preview['id']}", timeout=30).json()
            if status.get("status") in ("done", "failed"):
                break
            time.sleep(0.25)
        apply_s = time.monotonic() - t1
        return {"rows": rows, "bytes": len(data), "preview_s": preview_s, "summary": preview["summary"],
                "confirm_call_s": confirm_call_s, "apply_s": apply_s, "status": status.get("status"),
                "applied": status.get("applied", 0), "failed_rows": len(status.get("failed_rows", [])),
                "users_per_s": status.get("applied", 0) / apply_s if apply_s else 0.0}
    finally:
        stop_stack(stack)


class _CountingClient:
    WRITES = ("put_item", "update_item", "delete_item", "batch_write_item", "transact_write_items")

    def __init__(self, inner):
        self.inner, self.calls = inner, 0

    def __getattr__(self, name):
        attr = getattr(self.inner, name)
        if name not in self.WRITES:
            return attr

        def counted(*args, **kwargs):
            self.calls += 1
            return attr(*args, **kwargs)

        return counted


def writes_per_user(rows: int) -> dict:
    """Apply ``rows`` created users in this process (moto), counting the DynamoDB write calls."""
    import boto3
    from moto import mock_aws

    from idp.bootstrap import Container
    from idp.settings import Settings
    from idp_local import moto_queries, moto_queues, moto_transactions
    from idp_testing.aws import create_table

    for patch in (moto_transactions, moto_queries, moto_queues):  # moto as the local stack runs it (DynamoDB's costs)
        patch.install()
    with mock_aws():
        table = create_table("bench-import")
        sqs = boto3.client("sqs", region_name="us-east-1")
        events = sqs.create_queue(QueueName="bench-events.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
        jobs = sqs.create_queue(QueueName="bench-import-jobs")["QueueUrl"]
        parts = Container(Settings.load({}, table_name=table.name, events_queue_url=events, import_queue_url=jobs))
        imports = parts.user_imports
        preview = imports.preview(csv_file(rows, "w"))
        imports.confirm(preview["id"], False)
        counting = _CountingClient(parts.table.meta.client)
        parts.table.meta.client = counting
        applied = 0
        try:
            for n in range(-(-rows // 250)):
                result = imports.apply_chunk(preview["id"], n, last_attempt=False)
                applied += result["applied"] if result else 0
        finally:
            parts.table.meta.client = counting.inner
    return {"users": applied, "write_calls": counting.calls, "per_user": counting.calls / applied if applied else None}


def run(rows: int = 10_000, counted_rows: int | None = None) -> dict:
    out = on_the_local_stack(rows)
    out["writes"] = writes_per_user(counted_rows or min(rows, 500))
    return out


def render(r: dict, out: list[str], t=None) -> None:
    out.append("## 9. CSV import of users: preview and confirm on the local stack\n")
    if "error" in r:
        out.append(f"Not measured: `{r['error']}`\n")
        if t is not None:
            t.add(f"CSV import: preview ≤ {PREVIEW_TARGET_S:g} s (10,000 rows)", "n/a", None)
        return
    w = r["writes"]
    out.append(f"The local stack (`python -m idp_local`, its embedded AWS, the import queue feeding ImportJobFunction), an "
               f"empty directory, a file of {r['rows']:,} new users ({r['bytes'] / 1e6:.1f} MB). The preview reads, "
               "validates and plans every row and stores the plan (nothing is written to the directory); the confirmation "
               "queues one message per 250 rows and the job applies them through the directory service; the import's "
               "status is read every 0.25 s. DynamoDB writes per user: in this process (moto), the job's own code over "
               f"{w['users']} users, every write call counted.\n")
    out.append("| measure | value | target | |")
    out.append("|---|---:|---:|---|")
    preview_ok = r["preview_s"] <= PREVIEW_TARGET_S
    rate_ok = r["status"] == "done" and r["users_per_s"] >= RATE_TARGET
    writes_ok = w["per_user"] is not None and w["per_user"] <= WRITES_TARGET
    out.append(f"| preview of {r['rows']:,} rows | {r['preview_s']:.2f} s | ≤ {PREVIEW_TARGET_S:g} s | {_met(preview_ok)} |")
    out.append(f"| confirm call (queues the job) | {r['confirm_call_s']:.2f} s | | |")
    out.append(f"| confirm → done ({r['applied']:,} applied, {r['failed_rows']} failed, status {r['status']}) | "
               f"{r['apply_s']:.1f} s | | |")
    out.append(f"| users applied per second | {r['users_per_s']:.0f} | ≥ {RATE_TARGET:g} | {_met(rate_ok)} |")
    out.append(f"| DynamoDB write calls per imported user | {w['per_user']:.2f} ({w['write_calls']} for {w['users']}) | "
               f"≤ {WRITES_TARGET:g} | {_met(writes_ok)} |")
    out.append("")
    if t is not None:
        t.add(f"CSV import: preview ≤ {PREVIEW_TARGET_S:g} s ({r['rows']:,} rows)", f"{r['preview_s']:.2f} s", preview_ok)
        t.add(f"CSV import: confirm ≥ {RATE_TARGET:g} users/s", f"{r['users_per_s']:.0f} users/s", rate_ok)
        t.add(f"CSV import: DynamoDB writes per user ≤ {WRITES_TARGET:g}", f"{w['per_user']:.2f}", writes_ok)


def _met(ok: bool) -> str:
    return "**met**" if ok else "**missed**"
