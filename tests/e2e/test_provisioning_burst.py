"""Provisioning over the local stack's HTTP API: a burst of mixed directory changes, made as fast as
the admin API takes them while the SCIM server behind a fault proxy answers 429s, 5xx, resets and
timeouts (some after it applied the request), is all in the SP within 30 s of the last change."""
from __future__ import annotations

import time

import pytest

from idp_local.moto_server import SERVER_ERROR_MARKER
from idp_testing.scim_server import FaultProxy, ScimServer
from idp_testing.sp_compare import expected, wait_until_equal
from idp_testing.stack import start_stack, stop_stack

TOKEN = "burst-scim-token-5f4e3d"


@pytest.fixture(scope="module")
def burst_stack(tmp_path_factory):
    """Its own stack, with the default breaker: it weighs failed events against the requests the SP
    answered in its window, so faults among parallel consumers' successes do not open it."""
    stack = start_stack(tmp_path_factory.mktemp("burst"))  # the default breaker: it counts failures against successes
    yield stack
    stop_stack(stack)


@pytest.fixture
def sp():
    server = ScimServer(token=TOKEN)
    proxy = FaultProxy(server.port, seed=11, rate=0.1, hang_seconds=0.5, faulty_requests=80)
    yield server, proxy
    proxy.close()
    server.close()


def test_a_burst_of_changes_converges_in_seconds_despite_faults(burst_stack, sp):
    local_stack = burst_stack
    server, proxy = sp
    s, base = local_stack.admin(), local_stack.base_url
    assert s.post(f"{base}/admin/apps", json={"slug": "burst", "label": "Burst", "sp_entity_id": "burst.example",
                                              "acs_urls": ["https://burst.example/acs"]}, timeout=30).status_code == 201
    assert s.put(f"{base}/admin/apps/burst/provisioning", json={"base_url": proxy.base_url(), "token": TOKEN, "enabled": True,
                                                                "group_management": True}, timeout=10).status_code == 200
    uids = [s.post(f"{base}/admin/users", json={"username": f"b{i}", "email": f"b{i}@example.com", "firstname": "B",
                                                 "lastname": str(i), "title": "t0"}, timeout=10).json()["id"] for i in range(30)]
    gids = [s.post(f"{base}/admin/groups", json={"name": f"Burst {n}"}, timeout=10).json()["id"] for n in range(3)]
    for i, uid in enumerate(uids[:24]):
        assert s.put(f"{base}/admin/groups/{gids[i % 3]}/members/{uid}", timeout=10).status_code == 204
    for gid in gids[:2]:
        assert s.put(f"{base}/admin/apps/burst/groups/{gid}", timeout=10).status_code == 204
    for uid in uids[24:28]:
        assert s.put(f"{base}/admin/apps/burst/users/{uid}", timeout=10).status_code == 204
    for uid in uids[:6]:
        assert s.patch(f"{base}/admin/users/{uid}", json={"title": "t1"}, timeout=10).status_code == 200
    assert s.patch(f"{base}/admin/users/{uids[7]}", json={"state": "SUSPENDED"}, timeout=10).status_code == 200
    assert s.delete(f"{base}/admin/groups/{gids[0]}/members/{uids[3]}", timeout=10).status_code == 204
    assert s.put(f"{base}/admin/groups/{gids[1]}/members/{uids[29]}", timeout=10).status_code == 204
    assert s.patch(f"{base}/admin/groups/{gids[1]}", json={"name": "Burst renamed"}, timeout=10).status_code == 200
    assert s.delete(f"{base}/admin/users/{uids[26]}", timeout=10).status_code == 204
    assert s.put(f"{base}/admin/apps/burst/groups/{gids[2]}", timeout=10).status_code == 204
    last_change = time.monotonic()
    # the SP keeps failing (10% of its first 80 requests) while the consumers catch up
    exp = expected(s, base, direct=set(uids[24:28]) - {uids[26]}, bound_groups=gids)
    _, problem = wait_until_equal(server, exp, since=last_change, timeout=30, interval=0.5)
    if problem is not None:
        problem += f"; status {s.get(f'{base}/admin/apps/burst/provisioning/status', timeout=10).json()}"
    assert problem is None, f"{problem} ({time.monotonic() - last_change:.1f} s after the last change; faults {proxy.injected})"
    assert sum(proxy.injected.values()) > 0  # the SP did misbehave during the burst
    dlq = s.get(f"{base}/admin/apps/burst/provisioning/status", timeout=10).json()
    assert dlq.get("failed", 0) == 0, dlq
    logs = local_stack.logs()
    assert "dictionary changed size" not in logs  # the embedded DynamoDB stayed consistent
    errors = [line for line in logs.splitlines() if SERVER_ERROR_MARKER in line]
    assert not errors, f"the embedded AWS answered {len(errors)} 5xx (botocore retried them): {errors[:3]}"
    print(f"converged {time.monotonic() - last_change:.1f} s after the last change; faults injected {proxy.injected}")
