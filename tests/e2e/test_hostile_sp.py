"""Each SP on its own, over the local stack (contract section 4, issue 21): beside a healthy app pointed at
scim2-server, one app's SP is hostile (a slow loris, JSON nested 200,000 deep, `{"Resources": ["x", 1]}`,
the id `..`, an 80 MB answer). Every suspension reaches the healthy SP within the 2 s of the contract,
the stack stays healthy, no admin route answers 5xx, and the hostile app's status says what is wrong."""
from __future__ import annotations

import time

import pytest

from idp_testing.hostile_sp import HostileSp
from idp_testing.scim_server import ScimServer
from idp_testing.stack import start_stack, stop_stack

GOOD_TOKEN, BAD_TOKEN = "good-scim-token-1a2b3c", "bad-scim-token-4d5e6f"
MODES = ["trickle", "deep", "shapes", "dotdot", "huge"]  # the slow loris first, while the app still looks healthy
USERS = len(MODES) + 1


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    good, bad = ScimServer(token=GOOD_TOKEN), HostileSp(mode="ok", token=BAD_TOKEN, trickle_every=0.5)
    stack = start_stack(tmp_path_factory.mktemp("hostile"), extra_env={"LOCAL_CONSUMERS": "4"})
    yield stack, good, bad
    bad.close()  # first: the SCIM requests still trickling end at once
    stop_stack(stack)
    good.close()


def _sp_user(server, uid):
    return next((u for u in server.list("Users") if u.get("externalId") == uid), None)


def _until(check, seconds: float, step: float = 0.05):
    end = time.monotonic() + seconds
    while True:
        got = check()
        if got or time.monotonic() > end:
            return got
        time.sleep(step)


def test_a_hostile_sp_never_delays_or_stops_the_healthy_one(world):
    stack, good, bad = world
    s, base = stack.admin(), stack.base_url
    for slug, url, token in (("good", good.base_url, GOOD_TOKEN), ("bad", bad.base_url, BAD_TOKEN)):
        assert s.post(f"{base}/admin/apps", json={"slug": slug, "label": slug, "sp_entity_id": f"{slug}.example",
                                                  "acs_urls": [f"https://{slug}.example/acs"]}, timeout=10).status_code == 201
        r = s.put(f"{base}/admin/apps/{slug}/provisioning", json={"base_url": url, "token": token, "enabled": True}, timeout=10)
        assert r.status_code == 200, r.text
    uids = []
    for i in range(USERS):
        r = s.post(f"{base}/admin/users", json={"username": f"h{i}", "email": f"h{i}@example.com", "firstname": "H",
                                                "lastname": str(i)}, timeout=10)
        assert r.status_code == 201, r.text
        uids.append(r.json()["id"])
        for slug in ("good", "bad"):
            assert s.put(f"{base}/admin/apps/{slug}/users/{uids[-1]}", timeout=10).status_code == 204
    assert _until(lambda: all(_sp_user(good, u) for u in uids), 20), "the healthy SP never got the users"

    took = {}
    for uid, mode in zip(uids, MODES):
        bad.mode = mode
        r = s.patch(f"{base}/admin/users/{uid}", json={"state": "SUSPENDED"}, timeout=10)
        assert r.status_code == 200, r.text
        start = time.monotonic()
        assert _until(lambda uid=uid: (_sp_user(good, uid) or {}).get("active") is False, 5), f"{mode}: not suspended"
        took[mode] = time.monotonic() - start
        if mode == "trickle":  # met inline while the app still looked healthy; later shares queue in its own group
            assert bad.wait_for(mode, 5), "the hostile SP was never asked while it trickled"
        assert s.get(f"{base}/healthz", timeout=5).status_code == 200
    assert all(seconds < 2.0 for seconds in took.values()), took  # the contract's bound (section 1, 4)

    # the admin routes about the hostile app: never a 5xx, and they name what is wrong
    for mode in MODES[1:]:
        bad.mode = mode
        for route in ("sync", "import", "test"):
            r = s.post(f"{base}/admin/apps/bad/provisioning/{route}", timeout=30)
            assert r.status_code < 500, (mode, route, r.status_code, r.text)
            text = r.text.lower()
            assert r.status_code >= 400 or '"ok":false' in text.replace(" ", ""), (mode, route, r.text)
        assert s.get(f"{base}/admin/apps/bad/provisioning/status", timeout=10).status_code == 200

    assert all(bad.hits.get(mode) for mode in MODES), bad.hits  # every behaviour was met
    bad.mode = "deep"

    def failing():
        status = s.get(f"{base}/admin/apps/bad/provisioning/status", timeout=10).json()
        if status["state"] == "ok":
            s.post(f"{base}/admin/apps/bad/provisioning/sync", timeout=10)  # another failure in its window
            return None
        return status
    status = _until(failing, 15, step=0.2)
    assert status and status["state"] != "ok", status
    said = f"{status.get('reason')} {status.get('last_error')}"
    assert any(word in said for word in ("nested", "not a SCIM resource", "path segment", "larger than 4 MB", "deadline")), said
    good_status = s.get(f"{base}/admin/apps/good/provisioning/status", timeout=10).json()
    assert good_status["state"] == "ok", good_status
    assert all(_sp_user(good, u)["active"] is False for u in uids[: len(MODES)])
    assert _sp_user(good, uids[-1])["active"] is True
    assert s.get(f"{base}/healthz", timeout=5).status_code == 200
    assert "RecursionError" not in stack.logs()  # the client classified the nesting; nothing escaped as one
    print(f"healthy SP suspended after {({m: round(t, 2) for m, t in took.items()})}; bad app: {said[:200]}")
