"""Reconcile (drift repair, deprovisioning guard), Test Connection and provision-on-demand."""
import pytest

from idp.provisioning.dispatch import Dispatcher
from idp.provisioning.reconcile import Reconciler

APP = "office"


@pytest.fixture
def reconciler(engine):
    return Reconciler(engine)


def seed(directory, scim, n=10, group_management=True):
    directory.add_app(APP, scim.base_url, group_management=group_management, deprovision_guard_min=3)
    users = [directory.add_user() for _ in range(n)]
    gid = directory.add_group("All")
    directory.members[gid] = set(users)
    directory.bind_group(APP, gid)
    return users, gid


def test_initial_sync_then_noop_costs_only_the_listing(directory, scim, reconciler):
    users, gid = seed(directory, scim)
    summary = reconciler.reconcile_app(APP)
    assert summary["users"] == {"created": 10}
    assert summary["groups"] == {"created": 1}
    # listing users (1) + POST per user (no filter GET: the listing already answered the match)
    # + listing groups (1) + POST group
    assert scim.counts() == {"GET Users": 1, "POST Users": 10, "GET Groups": 1, "POST Groups": 1}

    scim.reset_counts()
    summary = reconciler.reconcile_app(APP)
    assert summary["users"] == {"no_change": 10} and summary["groups"] == {"no_change": 1}
    assert scim.counts() == {"GET Users": 1, "GET Groups": 1}


def test_repairs_drift_made_by_hand_in_the_sp(directory, scim, reconciler, state):
    users, gid = seed(directory, scim)
    reconciler.reconcile_app(APP)
    sp = {u["userName"]: u for u in scim.list("Users")}
    a, b, c = (sp[f"{u}@example.com"]["id"] for u in users[:3])
    scim.patch("Users", a, [{"op": "replace", "path": "active", "value": False}])  # deactivated by hand
    scim.patch("Users", b, [{"op": "replace", "path": "title", "value": "Hacked"}])  # edited by hand
    scim.delete("Users", c)  # deleted by hand
    group = scim.group_by_name("All")
    scim.patch("Groups", group["id"], [{"op": "remove", "path": f'members[value eq "{a}"]'},
                                       {"op": "replace", "path": "displayName", "value": "Renamed"}])
    scim.reset_counts()

    summary = reconciler.reconcile_app(APP)
    assert summary["users"]["updated"] == 1 and summary["users"]["reactivated"] == 1
    assert summary["users"]["created"] == 1
    sp = {u["userName"]: u for u in scim.list("Users")}
    assert all(sp[f"{u}@example.com"]["active"] for u in users)
    assert "title" not in sp[f"{users[1]}@example.com"]
    group = scim.group_by_name("All")
    assert group is not None
    held = {m["value"] for m in group["members"]}
    # scim2-server keeps a deleted user's dangling id in groups; members we don't know are left alone
    assert held - {c} == {sp[f"{u}@example.com"]["id"] for u in users}
    assert scim.counts() == {"GET Users": 1, "PATCH Users": 2, "POST Users": 1, "GET Groups": 1, "PATCH Groups": 1}


def test_guard_stops_mass_deactivation_until_confirmed(directory, scim, reconciler, state, engine):
    users, gid = seed(directory, scim)
    reconciler.reconcile_app(APP)
    directory.unbind_group(APP, gid)  # an accident: everybody would lose access
    scim.reset_counts()

    summary = reconciler.reconcile_app(APP)
    assert summary["result"] == "halted"
    status = state.app_status(APP)
    assert status["state"] == "halted"
    assert "would deactivate or delete 10 of 10" in status["reason"]
    assert scim.requests == []
    assert all(u["active"] for u in scim.list("Users"))

    summary = reconciler.reconcile_app(APP, force=True)
    assert summary["users"] == {"deactivated": 10}
    assert not any(u["active"] for u in scim.list("Users"))
    assert state.app_status(APP)["state"] == "ok"


def test_guard_lets_small_changes_through(directory, scim, reconciler):
    users, gid = seed(directory, scim)
    reconciler.reconcile_app(APP)
    directory.members[gid].discard(users[0])
    summary = reconciler.reconcile_app(APP)
    assert summary["result"] == "reconciled" and summary["users"]["deactivated"] == 1


def test_app_sync_event_runs_reconcile(directory, scim, engine, reconciler):
    users, gid = seed(directory, scim, n=3)
    Dispatcher(engine, reconciler).apply({"type": "app.sync", "id": APP, "app": APP})
    assert len(scim.list("Users")) == 3


def test_test_connection_says_what_failed(directory, scim, reconciler, tokens):
    directory.add_app(APP, scim.base_url)
    assert reconciler.test_connection(APP) == {
        "ok": True, "detail": f"connected to {scim.base_url}: authenticated and listed users (0 in the SP)"}
    assert scim.counts() == {"GET Users": 1}

    tokens.tokens[APP] = "bad"
    result = reconciler.test_connection(APP)
    assert result["ok"] is False and "authentication failed" in result["detail"] and "401" in result["detail"]

    tokens.tokens[APP] = "secret"
    directory.set_prov(APP, base_url=scim.base_url.replace("/v2", "/nope"))
    result = reconciler.test_connection(APP)
    assert result["ok"] is False and "404" in result["detail"] and "base URL" in result["detail"]

    directory.set_prov(APP, base_url="http://127.0.0.1:9/v2")
    result = reconciler.test_connection(APP)
    assert result["ok"] is False and "could not reach" in result["detail"] and "refused" in result["detail"]

    assert reconciler.test_connection("nope")["ok"] is False


def test_provision_on_demand_reads_the_sp(directory, scim, reconciler, state):
    directory.add_app(APP, scim.base_url)
    uid = directory.add_user(title="A")
    directory.bind_user(APP, uid)
    result = reconciler.provision_user_now(APP, uid)
    assert result["ok"] and result["outcome"] == "created"
    assert result["log"][0]["action"] == "create"
    sid = state.get_map(APP, "USER", uid)["scim_id"]
    scim.patch("Users", sid, [{"op": "replace", "path": "title", "value": "changed by hand"}])
    scim.reset_counts()
    result = reconciler.provision_user_now(APP, uid)  # the hash says no change; on demand checks the SP
    assert result["outcome"] == "updated"
    assert scim.counts() == {"GET Users": 1, "PATCH Users": 1}
    assert scim.get("Users", sid)["title"] == "A"


def test_log_and_status_views(directory, scim, engine, state):
    directory.add_app(APP, scim.base_url)
    uid = directory.add_user()
    directory.bind_user(APP, uid)
    engine.sync_user(APP, uid)
    directory.update_user(uid, title="X")
    engine.sync_user(APP, uid)
    log = state.read_log(APP, user_id=uid)
    assert [e["action"] for e in log] == ["update", "create"]  # newest first
    assert log[0]["request"]["Operations"] == [{"op": "add", "path": "title", "value": "X"}] or \
        log[0]["request"]["Operations"][0]["path"] == "title"
    assert state.read_log(APP, limit=1)[0]["action"] == "update"
    assert state.counts(APP)["users"] == {"in_sync": 1, "pending": 0, "failed": 0}
