"""The local stack's stand-in of the log group's subscription (dev/idp_local/audit_shipper.py): it hands the spool's
complete lines to AuditShipFunction's handler in CloudWatch Logs' shape, keeps its offset in a checkpoint written
after each delivered batch, resumes from it after a restart, waits for a line still being written, and keeps a
batch the handler refused for the next tick."""
from __future__ import annotations

import pytest

from idp import bootstrap
from idp.adapters.audit_log import DynamoAuditLog
from idp.adapters.audit_ship_writer import decode
from idp.adapters.audit_shipping import line_of
from idp.bootstrap import container
from idp.kernel.audit import Actor, AuditEvent
from idp.kernel.audit_log import AuditQuery
from idp_local.audit_shipper import AuditShipper
from idp_testing.lambda_client import load


def _line(user: str) -> str:
    event = AuditEvent("sso", actor=Actor("user", user), user_id=user, app="officespace")
    return line_of(DynamoAuditLog(container().table).item_of(event))


def _sso_users() -> list[str]:
    return sorted(e["user_id"] for e in DynamoAuditLog(container().table).query(AuditQuery(type="sso"))[0])


def test_the_shipper_delivers_complete_lines_once_and_resumes_from_its_checkpoint(aws_env, tmp_path):
    bootstrap.reset()
    handler = load("audit_ship")
    batches: list[dict] = []

    def writer(event: dict, context: object) -> object:
        batches.append(decode(event))
        return handler(event, context)

    spool = tmp_path / "audit.spool"
    third = _line("u-3")
    complete = _line("u-1") + "\n" + _line("u-2") + "\n"
    spool.write_text(complete + third[:40])  # the third still being written
    shipper = AuditShipper(spool, writer)
    assert shipper.ship_once() == 2 and shipper.ship_once() == 0
    assert _sso_users() == ["u-1", "u-2"]
    # where the third line begins (not found by its first bytes: two lines of one audit shard begin alike, 1 in 16)
    assert shipper.offset() == len(complete.encode())
    assert batches[0]["logGroup"].endswith("saml-login") and [e["id"] for e in batches[0]["logEvents"]] == [
        "0", str(len(_line("u-1")) + 1)]

    with spool.open("a") as fh:
        fh.write(third[40:] + "\n")
    restarted = AuditShipper(spool, writer)  # a new process: only its checkpoint is left
    assert restarted.ship_once() == 1
    assert _sso_users() == ["u-1", "u-2", "u-3"]
    assert restarted.offset() == spool.stat().st_size


def test_a_refused_batch_stays_for_the_next_tick_and_redelivery_is_harmless(aws_env, tmp_path):
    bootstrap.reset()
    handler = load("audit_ship")
    spool = tmp_path / "audit.spool"
    spool.write_text(_line("u-9") + "\n")
    refusing = True

    def flaky(event: dict, context: object) -> object:
        if refusing:
            raise RuntimeError("throttled")
        return handler(event, context)

    shipper = AuditShipper(spool, flaky)
    with pytest.raises(RuntimeError):
        shipper.ship_once()
    assert shipper.offset() == 0 and _sso_users() == []
    refusing = False
    assert shipper.ship_once() == 1 and _sso_users() == ["u-9"]
    shipper.checkpoint.unlink()  # killed before its checkpoint was written: the batch comes again
    assert AuditShipper(spool, flaky).ship_once() == 1 and _sso_users() == ["u-9"]


def test_the_thread_delivers_within_its_period(aws_env, tmp_path):
    import time

    bootstrap.reset()
    spool = tmp_path / "audit.spool"
    shipper = AuditShipper(spool, load("audit_ship"), interval=0.2)
    shipper.start()
    try:
        spool.write_text(_line("u-5") + "\n")
        deadline = time.monotonic() + 3
        while _sso_users() != ["u-5"] and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _sso_users() == ["u-5"]
    finally:
        shipper.stop()
