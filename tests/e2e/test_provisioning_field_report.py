"""Issue 21's field report on the local stack, against scim2-server (an SP nobody here wrote): 50 users,
none bound; g1 = users 0-19, g2 = 15-34, g3 = 30-44; the SP already holds user 16 (its userName in
another case) and a group named like g2; g1 and g2 are bound back to back. The SP must then hold g1
and g2 with every member within CONVERGE_SECONDS of the last change, with no reconcile (hourly here),
and the status must say so only once it is true. Twenty runs in a row, each on a fresh app and SP,
against scim2-server as it is and (every other run) as a strict SP that refuses a member id it holds no
user for.
On main 3511b39 g1 kept 1, 6 and 15 of its 20 members while the status said `in_sync: 37`."""
from __future__ import annotations

import os
import time

import pytest
import requests

from idp_testing.scim_server import ScimServer
from idp_testing.sp_compare import Expected, difference, wait_until_equal
from idp_testing.stack import start_stack, stop_stack

TOKEN = "field-report-scim-token-2b7e1c"
RUNS = int(os.environ.get("FIELD_REPORT_RUNS", "20"))  # in a row, every other one strict; fewer only while developing
# The target is 5 s (35 users created and two groups filled, 110 SCIM requests or so). This stack meets it
# in every run on a quiet machine (20 in a row on 2026-12-07: 2.73 / 3.63 / 4.23 s min / median / max). On this
# 2-core machine under other load it does not: CI once saw one run of 5.8 s, and a CI-like run beside a 10,000-user
# benchmark saw the first run take 11.6 s. So each run is held to 15 s (an outlier under load does not flake) and
# the median of the 20 to the 5 s target. The test prints every run's time. On main 3511b39 the SP never got
# there without a reconcile (wrong after 30 s).
CONVERGE_SECONDS = 15.0
TARGET_SECONDS = 5.0  # the target, held by the median of the runs
STATUS_GRACE_SECONDS = 15.0  # after the SP matched: the last push is recording what the SP already holds (a group whose settle
# met members still changing is pushed again; two CI-like runs saw that take more than 5 s)


def _session(stack) -> requests.Session:
    s = requests.Session()
    s.headers["Authorization"] = f"Bearer {stack.admin_token}"
    return s


def _call(s: requests.Session, method: str, url: str, body: dict | None = None, expect: int = 200) -> dict | None:
    answer = s.request(method, url, json=body, timeout=15)
    assert answer.status_code == expect, f"{method} {url}: {answer.status_code} {answer.text[:300]}"
    return answer.json() if answer.content else None


def one_run(stack, n: int, strict: bool) -> float:
    """The field report once, on app `fr<n>` and a fresh SP; the seconds from the last change until the SP
    held what the directory wants (an assertion error past CONVERGE_SECONDS)."""
    base, s = stack.base_url, _session(stack)
    server = ScimServer(token=TOKEN, strict_members=strict)
    slug = f"fr{n}"
    try:
        # 1. The app, its provisioning pointed at an SP that holds one of the users (userName in another
        #    case) and a group named like g2.
        server.create("Users", {"userName": f"R{n}U16@EXAMPLE.COM", "name": {"givenName": "User"}, "active": True})
        server.create("Groups", {"displayName": f"r{n} g2"})
        _call(s, "POST", f"{base}/admin/apps", {"slug": slug, "label": f"Field report {n}", "template": "officespace",
                                                "sp_entity_id": f"fr{n}.example.com",
                                                "acs_urls": [f"https://fr{n}.example.com/users/auth/saml/callback"]}, 201)
        _call(s, "PUT", f"{base}/admin/apps/{slug}/provisioning", {"base_url": server.base_url, "token": TOKEN,
                                                                   "enabled": True, "group_management": True})
        # 2. 50 users, none bound; g1 = 0-19, g2 = 15-34, g3 = 30-44.
        users = [_call(s, "POST", f"{base}/admin/users", {
            "username": f"r{n}u{i}", "email": f"r{n}u{i}@example.com", "firstname": "User", "lastname": f"N{i}",
            "title": "Staff"}, 201) for i in range(50)]
        groups = [_call(s, "POST", f"{base}/admin/groups", {"name": f"r{n} g{k}"}, 201) for k in (1, 2, 3)]
        spans = {0: range(0, 20), 1: range(15, 35), 2: range(30, 45)}
        for k, span in spans.items():
            for i in span:
                _call(s, "PUT", f"{base}/admin/groups/{groups[k]['id']}/members/{users[i]['id']}", expect=204)
        # 3. Bind g1, then g2, back to back.
        _call(s, "PUT", f"{base}/admin/apps/{slug}/groups/{groups[0]['id']}", expect=204)
        _call(s, "PUT", f"{base}/admin/apps/{slug}/groups/{groups[1]['id']}", expect=204)
        last_change = time.monotonic()
        members = {g["id"]: {users[i]["id"] for i in spans[k]} for k, g in enumerate(groups)}
        exp = Expected({u["id"]: u for u in users}, {g["id"]: g for g in groups}, members,
                       bound_groups={groups[0]["id"], groups[1]["id"]})
        took, problem = wait_until_equal(server, exp, since=last_change, timeout=CONVERGE_SECONDS, interval=0.1)
        status = _call(s, "GET", f"{base}/admin/apps/{slug}/provisioning/status")
        if problem is not None:
            status_then = dict(status)
            later, _ = wait_until_equal(server, exp, since=last_change, timeout=30, interval=0.5)
            raise AssertionError(f"run {n} ({'strict' if strict else 'scim2-server'}): {problem} "
                                 f"{CONVERGE_SECONDS} s after the last change (equal after {later} s); "
                                 f"status then {status_then}")
        # The status says in sync only once it is true: 35 users and 2 groups, nothing pending.
        first = dict(status)
        deadline = time.monotonic() + STATUS_GRACE_SECONDS
        while status["pending"] and time.monotonic() < deadline:  # a push may still be recording what the SP holds
            time.sleep(0.2)
            status = _call(s, "GET", f"{base}/admin/apps/{slug}/provisioning/status")
        assert (status["in_sync"], status["pending"], status["failed"]) == (37, 0, 0), (
            f"run {n}: drift {status.get('drift')} {STATUS_GRACE_SECONDS} s after the SP matched "
            f"(when it matched: {first.get('drift')})")
        assert difference(server, exp) is None
        assert not server.refused, f"the strict SP refused {server.refused[:3]}"
        return took
    finally:
        s.delete(f"{base}/admin/apps/{slug}", timeout=15)  # before its SP goes away
        server.close()


@pytest.mark.timeout(900)  # twenty runs of 50 users each: longer than the suite's 300 s a test
def test_field_report_converges_without_a_reconcile_twenty_runs_in_a_row(tmp_path):
    """Twenty runs in a row on one stack, every other one against the strict SP."""
    took: list[float] = []
    stack = start_stack(tmp_path)
    try:
        for n in range(RUNS):
            took.append(one_run(stack, n, strict=bool(n % 2)))
            print(f"run {n}: converged {took[-1]:.1f} s after the last change", flush=True)
    finally:
        stop_stack(stack)
    median = sorted(took)[len(took) // 2]
    print(f"converged after {min(took):.2f} / {median:.2f} / {max(took):.2f} s (min / median / max)")
    # Each run is held to CONVERGE_SECONDS (an outlier under load passes); the typical run to the 5 s.
    assert median <= TARGET_SECONDS, f"median {median:.2f} s over the {TARGET_SECONDS} s target: {took}"
