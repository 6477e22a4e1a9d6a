"""Issue 25 item 5: no `sso` event is lost when the login function is killed right after answering, and the event
is readable through GET /admin/events within 5 s. The local stack (`python -m idp_local`) on an external moto
server with AUDIT_SSO_DELIVERY=log: the first stack answers an SSO from a live session (its event only a line in
the spool, its shipper off, so nothing delivers it) and is SIGKILLed as soon as the answer is in; a second stack
on the same endpoint and spool, whose shipper delivers, shows the event within 5 s of being up.

What this stands for in AWS: the spool is the function's stdout, the shipper the log group's subscription. The
line is out of the process before the answer is sent (written and flushed in the request); what happens to it
after the process dies is Lambda's and CloudWatch Logs' (not provable here)."""
from __future__ import annotations

import json
import signal
import time

import boto3
import pytest

from idp_local.moto_server import EmbeddedAwsProcess
from idp_testing.saml_browser import Browser
from idp_testing.stack import start_stack, stop_stack

PASSWORD = "Violet-Harbor-Lantern-42"


def _spooled(spool) -> list[dict]:
    return [json.loads(line)["idp_audit"] for line in spool.read_text().splitlines()] if spool.exists() else []


@pytest.mark.timeout(240)
def test_no_event_is_lost_when_the_function_is_killed_right_after_answering(tmp_path):
    # A moto server in a process of its own: a ThreadedMotoServer would share this pytest process's moto backends,
    # and the next test's own server would find this test's table and users in them.
    server = EmbeddedAwsProcess()
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    spool = tmp_path / "audit" / "audit.spool"
    env = {"AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
           "AWS_DEFAULT_REGION": "us-east-1", "AUDIT_SSO_DELIVERY": "log", "AUDIT_SPOOL_PATH": str(spool)}
    ddb = boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="testing",
                       aws_secret_access_key="testing")
    second = None
    first = start_stack(tmp_path, extra_env={**env, "LOCAL_AUDIT_SHIPPER": "0"})
    try:
        admin, base = first.admin(), first.base_url
        user = admin.post(f"{base}/admin/users", json={"username": "kill-kim", "email": "kill-kim@example.com",
                                                       "firstname": "Kim", "lastname": "Lind", "password": PASSWORD},
                          timeout=15).json()
        assert admin.post(f"{base}/admin/apps", json={"slug": "kill", "label": "Kill", "sp_entity_id": "kill.example",
                                                      "acs_urls": ["https://kill.example/acs"]}, timeout=30).status_code == 201
        assert admin.put(f"{base}/admin/apps/kill/users/{user['id']}", timeout=10).status_code == 204
        browser = Browser(base)
        assert browser.login(browser.get("/login"), "kill-kim", PASSWORD).status_code in (200, 302, 303)
        before = len(_spooled(spool))

        answer = browser.get("/saml2/kill", follow=False)  # IdP-initiated SSO from the live session
        first.proc.send_signal(signal.SIGKILL)  # right after answering: no shutdown, no flush, no goodbye
        first.proc.wait(timeout=10)
        assert answer.status_code == 200 and 'name="SAMLResponse"' in answer.text, answer.text[:300]
    finally:
        if first.proc.poll() is None:
            first.proc.kill()
            first.proc.wait(timeout=10)

    spooled = _spooled(spool)
    (item,) = spooled[before:]
    assert (item["type"], item["outcome"], item["app"], item["user_id"]) == ("sso", "success", "kill", user["id"])
    table = ddb.list_tables()["TableNames"][0]
    key = {"pk": {"S": item["pk"]}, "sk": {"S": item["sk"]}}
    assert "Item" not in ddb.get_item(TableName=table, Key=key, ConsistentRead=True)  # only in the spool so far

    try:
        second = start_stack(tmp_path, extra_env=env)  # same endpoint, same spool: its shipper delivers
        up = time.monotonic()
        admin = second.admin()
        seen: set[str] = set()
        while time.monotonic() - up < 5:
            events = admin.get(f"{second.base_url}/admin/events", params={"type": "sso", "limit": "200"},
                               timeout=5).json()["items"]
            seen = {e["id"] for e in events}
            if item["sk"] in seen:
                break
            time.sleep(0.1)
        waited = time.monotonic() - up
        assert item["sk"] in seen, f"the event was not readable within 5 s ({waited:.1f} s)"
        assert {i["sk"] for i in spooled} <= seen  # the login's own sso event too: nothing spooled is lost
        event = next(e for e in events if e["id"] == item["sk"])
        assert (event["user_id"], event["app"], event["outcome"]) == (user["id"], "kill", "success")
        print(f"event readable {waited:.2f} s after the second stack was up")
    finally:
        if second is not None:
            stop_stack(second)
        server.stop()


@pytest.mark.timeout(180)
def test_make_run_with_log_delivery_spools_under_its_temp_dir_and_ships_while_it_runs(tmp_path):
    """AUDIT_SSO_DELIVERY=log alone (no AUDIT_SPOOL_PATH): the stack spools under its temp dir and its shipper
    delivers, so an SSO's event is in GET /admin/events within 5 s of the answer."""
    stack = start_stack(tmp_path, extra_env={"AUDIT_SSO_DELIVERY": "log", "TMPDIR": str(tmp_path)})
    try:
        admin, base = stack.admin(), stack.base_url
        user = admin.post(f"{base}/admin/users", json={"username": "ship-sam", "email": "ship-sam@example.com",
                                                       "firstname": "Sam", "lastname": "Berg", "password": PASSWORD},
                          timeout=15).json()
        assert admin.post(f"{base}/admin/apps", json={"slug": "ship", "label": "Ship", "sp_entity_id": "ship.example",
                                                      "acs_urls": ["https://ship.example/acs"]}, timeout=30).status_code == 201
        assert admin.put(f"{base}/admin/apps/ship/users/{user['id']}", timeout=10).status_code == 204
        browser = Browser(base)
        assert browser.login(browser.get("/login"), "ship-sam", PASSWORD).status_code in (200, 302, 303)
        answer = browser.get("/saml2/ship", follow=False)
        answered = time.monotonic()
        assert answer.status_code == 200 and 'name="SAMLResponse"' in answer.text
        spool = tmp_path / "officespace-idp-local" / "audit.spool"
        ids = [i["sk"] for i in _spooled(spool) if i["app"] == "ship"]
        assert len(ids) == 1  # this SSO (signing in at /login answered no app)
        while time.monotonic() - answered < 5:
            seen = {e["id"] for e in admin.get(f"{base}/admin/events", params={"app": "ship", "type": "sso"},
                                               timeout=5).json()["items"]}
            if set(ids) <= seen:
                break
            time.sleep(0.1)
        assert set(ids) <= seen, f"not delivered within 5 s: {set(ids) - seen}"
        checkpoint = spool.parent / "audit.spool.checkpoint"  # written just after the batch it covers
        deadline = time.monotonic() + 2
        while (not checkpoint.exists() or int(checkpoint.read_text() or 0) != spool.stat().st_size) and (
                time.monotonic() < deadline):
            time.sleep(0.05)
        assert int(checkpoint.read_text()) == spool.stat().st_size
    finally:
        stop_stack(stack)
