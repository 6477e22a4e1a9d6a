"""A full sync with requests to one SP in parallel (`idp.provisioning.parallel`), through the composition root
(`Container` built from `Settings`, as the scim_push Lambda builds it) over moto's DynamoDB, against scim2-server
on loopback whose every answer is delayed: never more than the app's `max_concurrency` requests at once, and the
SP ends exactly as after a one-at-a-time sync, with the same requests; a 429 with Retry-After pauses every worker;
a failure, or the app's breaker opening meanwhile, stops every worker; the setting is validated by the admin API."""
import json
import threading
import time

import pytest

from idp.scim.protocol import RetryLater
from idp_testing.aws import AtomicTable
from idp_testing.directory import Tokens
from idp_testing.lambda_events import LambdaContext
from idp_testing.scim_server import ScimServer

DELAY = 0.02  # every SP answer waits this long, so parallel requests overlap


class Gauge:
    """WSGI middleware in front of the test SP (its recorder and overrides included): each request (peeks
    aside) waits `delay`, and is counted while it is in: the most at once, and when each one arrived."""

    def __init__(self, app, delay: float):
        self.app, self.delay = app, delay
        self.lock = threading.Lock()
        self.inside = self.peak = 0
        self.arrivals: list[tuple[float, str, str]] = []  # (monotonic, method, path)

    def __call__(self, environ, start_response):
        if environ.get("HTTP_X_TEST_PEEK"):
            return self.app(environ, start_response)
        with self.lock:
            self.inside += 1
            self.peak = max(self.peak, self.inside)
            self.arrivals.append((time.monotonic(), environ["REQUEST_METHOD"], environ.get("PATH_INFO", "")))
        try:
            time.sleep(self.delay)
            return list(self.app(environ, start_response))
        finally:
            with self.lock:
                self.inside -= 1

    def arrived_between(self, start: float, end: float) -> list[tuple[float, str, str]]:
        with self.lock:
            return [a for a in self.arrivals if start < a[0] < end]


def gauged_sp() -> tuple[ScimServer, Gauge]:
    sp = ScimServer(token="secret")
    gauge = Gauge(sp.server.get_app(), DELAY)
    sp.server.set_app(gauge)
    return sp, gauge


@pytest.fixture
def sps():
    made: list[ScimServer] = []

    def make() -> tuple[ScimServer, Gauge]:
        sp, gauge = gauged_sp()
        made.append(sp)
        return sp, gauge

    yield make
    for sp in made:
        sp.close()


@pytest.fixture
def container(prov_aws, table, directory, monkeypatch):
    """The container as the scim_push function builds it, on the in-memory directory and moto's table."""
    monkeypatch.setenv("IDP_ALLOW_LOCAL_TARGETS", "1")  # the test SPs listen on loopback
    from idp.adapters.provisioning.stores import dynamo_stores
    from idp.bootstrap import Container
    from idp.settings import Settings

    tokens = Tokens(seq="secret", par="secret")
    settings = Settings.load(events_queue_url="https://sqs.us-east-1.amazonaws.com/123456789012/t.fifo")
    # moto's in-process DynamoDB takes one request at a time safely (FIELD_NOTES.md); DynamoDB itself, any number.
    return Container(settings, store=directory, provisioning_state=dynamo_stores(AtomicTable(table)), scim_tokens=tokens)


def build(directory, apps: list[str], n_users: int = 130) -> list[str]:  # n_users >= 130
    """n users; 'Eng' holds 120 of them (a POST of 100 members, then a PATCH), 'Ops' 20, 'Left' (unbound) 5;
    a few users bound directly, two suspended (never created)."""
    users = [directory.add_user(title=f"T{i}", department="R&D") for i in range(n_users)]
    eng, ops, left = directory.add_group("Eng"), directory.add_group("Ops"), directory.add_group("Left")
    directory.members[eng] = set(users[:120])
    directory.members[ops] = set(users[110:130])
    directory.members[left] = set(users[:5])
    directory.update_user(users[7], state="SUSPENDED")
    directory.update_user(users[125], state="SUSPENDED")
    for slug in apps:
        directory.bind_group(slug, eng)
        directory.bind_group(slug, ops)
    return users


def sp_view(sp: ScimServer) -> dict:
    """What the SP holds, without its own ids and timestamps: users by userName, groups by name with their
    members' userNames."""
    users = sp.list("Users")
    names = {u["id"]: u["userName"] for u in users}
    assert len(names) == len({u["userName"].lower() for u in users}), "a user is in the SP twice"
    view_users = {u["userName"]: json.dumps({k: v for k, v in u.items() if k not in ("id", "meta")}, sort_keys=True)
                  for u in users}
    groups = {}
    for g in sp.list("Groups"):
        full = sp.get("Groups", g["id"])
        assert g["displayName"] not in groups, "a group is in the SP twice"
        groups[g["displayName"]] = sorted(names.get(m["value"], "?") for m in full.get("members") or [])
    return {"users": view_users, "groups": groups}


def test_parallel_sync_stays_within_max_concurrency_and_equals_the_sequential_one(container, directory, sps):
    seq_sp, seq_gauge = sps()
    par_sp, par_gauge = sps()
    directory.add_app("seq", seq_sp.base_url, group_management=True, max_concurrency=1)
    directory.add_app("par", par_sp.base_url, group_management=True, max_concurrency=4)
    build(directory, ["seq", "par"])
    for sp in (seq_sp, par_sp):  # already in both SPs: a user (adopted) and a group of the same name (taken over)
        sp.create("Users", {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                            "userName": directory.users[sorted(directory.users)[3]]["email"], "active": True})
        sp.create("Groups", {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Ops"})

    t0 = time.monotonic()
    seq = container.reconciler.reconcile_app("seq")
    seq_s = time.monotonic() - t0
    t0 = time.monotonic()
    par = container.reconciler.reconcile_app("par")
    par_s = time.monotonic() - t0

    assert seq_gauge.peak == 1
    assert 1 < par_gauge.peak <= 4, par_gauge.peak  # parallel, never past the app's setting
    assert seq["failed"] == [] and par["failed"] == []
    assert par["users"] == seq["users"] and par["groups"] == seq["groups"]
    assert par["requests"] == seq["requests"] == len(par_gauge.arrivals)
    assert par_sp.counts() == seq_sp.counts()  # the same requests, kind by kind
    assert sp_view(par_sp) == sp_view(seq_sp)
    view = sp_view(par_sp)
    assert len(view["users"]) == 128 and len(view["groups"]["Eng"]) == 119 and len(view["groups"]["Ops"]) == 19
    assert "Left" not in view["groups"]
    mappings = container.provisioning_state.mappings
    assert mappings.counts("par") == mappings.counts("seq")
    assert par_s < seq_s  # what it is for


def app_sync_event(slug: str) -> dict:
    """The SQS -> Lambda event of one `app.sync` message (FIFO)."""
    body = {"type": "app.sync", "id": slug, "app": slug, "at": "2026-12-07T12:00:00Z"}
    return {"Records": [{
        "messageId": "m-1", "receiptHandle": "rh-1", "body": json.dumps(body),
        "attributes": {"ApproximateReceiveCount": "1", "MessageGroupId": slug, "MessageDeduplicationId": "d-1",
                       "SentTimestamp": "0"},
        "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:t.fifo", "awsRegion": "us-east-1"}]}


def answer_nth_post(sp: ScimServer, n: int, status: str, headers: dict, body: bytes, then=None) -> dict:
    """The n-th POST /Users is answered with `status` (its time kept in the dict returned); `then()` runs first."""
    seen = {"posts": 0, "at": None}
    lock = threading.Lock()

    def override(method, path, query, payload):
        if method != "POST" or not path.endswith("/Users"):
            return None
        with lock:
            seen["posts"] += 1
            mine = seen["posts"] == n
        if not mine:
            return None
        if then is not None:
            then()
        seen["at"] = time.monotonic()
        return (status, headers, body) if status else None

    sp.override = override
    return seen


def test_a_429_pauses_every_worker_of_the_app(container, directory, sps):
    sp, gauge = sps()
    directory.add_app("par", sp.base_url, max_concurrency=4)
    users = [directory.add_user() for _ in range(40)]
    for uid in users:
        directory.bind_user("par", uid)
    directory.update_user(users[5], state="SUSPENDED")
    throttled = answer_nth_post(sp, 10, "429 Too Many Requests", {"Retry-After": "1", "Content-Type": "text/plain"},
                                b"slow down")

    # As Lambda invokes the scim_push function: its context lets a short Retry-After be waited out inline.
    answer = container.consumer.handle_batch(app_sync_event("par"), LambdaContext())

    assert answer["batchItemFailures"] == []
    at = throttled["at"]
    assert at is not None
    # Requests already on their way when the 429 was answered arrive at once; then nothing for the second
    # the SP asked for, from any worker; then the sync goes on.
    assert gauge.arrived_between(at + 0.2, at + 0.9) == []
    assert gauge.arrived_between(at + 0.9, at + 5.0)
    assert gauge.peak <= 4
    assert len(sp.list("Users")) == 39  # every active user (one suspended), the refused one sent again
    assert sp.counts()["POST Users"] == 39 + 1
    assert container.provisioning_state.status.app_status("par").get("state") in (None, "ok")  # a 429 is pacing, not a failure


def test_a_failure_stops_every_worker_and_what_was_done_is_written(container, directory, sps, table):
    sp, gauge = sps()
    directory.add_app("par", sp.base_url, max_concurrency=4)
    users = [directory.add_user() for _ in range(40)]
    for uid in users:
        directory.bind_user("par", uid)
    failed = answer_nth_post(sp, 10, "500 Internal Server Error", {"Content-Type": "text/plain"}, b"boom")
    state = container.provisioning_state.mappings

    with pytest.raises(RetryLater) as caught:
        container.reconciler.reconcile_app("par")
    assert "500" in str(caught.value)
    # Nothing sent once the failure was answered (only what was already on its way).
    assert gauge.arrived_between(failed["at"] + 0.2, time.monotonic()) == []
    in_sp = {u["externalId"]: u["id"] for u in sp.list("Users")}
    assert 0 < len(in_sp) < 40
    for uid in users:  # every user the SP holds is recorded; the others are left pending or untouched
        m = state.get_map("par", "USER", uid)
        if uid in in_sp:
            assert m["status"] == "synced" and m["scim_id"] == in_sp[uid]
        else:
            assert m is None or m["status"] == "pending"
    assert table.get_item(Key={"pk": "APP#par", "sk": "SCIM#LEASE"}).get("Item") is None  # written: released

    sp.override = None
    summary = container.reconciler.reconcile_app("par")
    assert summary["failed"] == [] and summary["users"]["created"] == 40 - len(in_sp)
    assert len(sp.list("Users")) == 40  # none twice


def test_a_breaker_opened_meanwhile_stops_the_run(container, directory, sps, monkeypatch):
    from idp.provisioning import parallel

    monkeypatch.setattr(parallel, "BREAKER_CHECK_SECONDS", 0.0)  # read the breaker before every request
    sp, gauge = sps()
    directory.add_app("par", sp.base_url, max_concurrency=4)
    for _ in range(40):
        directory.bind_user("par", directory.add_user())
    state = container.provisioning_state.status

    def open_breaker():  # another consumer's failures open the app's breaker
        state.note_transient_failure("par", "503 from the SP", threshold=1, base_cooldown=30, max_cooldown=60, window=60)

    opened = answer_nth_post(sp, 10, "", {}, b"", then=open_breaker)
    with pytest.raises(parallel.BreakerOpen) as caught:
        container.reconciler.reconcile_app("par")
    assert caught.value.delay_seconds and caught.value.delay_seconds > 20
    assert gauge.arrived_between(opened["at"] + 0.2, time.monotonic()) == []
    assert len(sp.list("Users")) < 40


def test_max_concurrency_is_validated_and_kept(admin_handler, scim):
    admin_handler("POST", "/admin/apps", {"slug": "office", "label": "OfficeSpace", "sp_entity_id": "acme.officespacesoftware.com",
                                          "acs_urls": ["https://acme.officespacesoftware.com/users/auth/saml/callback"]}, 201)
    put = {"base_url": scim.base_url, "token": "secret", "enabled": False, "group_management": True}
    for bad in (0, 33, "8", 2.5, True):
        body = admin_handler("PUT", "/admin/apps/office/provisioning", {**put, "max_concurrency": bad}, 400)
        assert body["error"] == "invalid_field" and "'max_concurrency'" in body["message"], body
    app = admin_handler("PUT", "/admin/apps/office/provisioning", {**put, "max_concurrency": 8}, 200)
    assert app["provisioning"]["max_concurrency"] == 8
    assert admin_handler("GET", "/admin/apps/office", status=200)["provisioning"]["max_concurrency"] == 8
    app = admin_handler("PUT", "/admin/apps/office/provisioning", {**put}, 200)  # left out: kept
    assert app["provisioning"]["max_concurrency"] == 8


def test_a_sync_cut_by_the_invocations_time_resumes_at_once_where_it_stopped(container, directory, sps):
    from idp.scim.protocol import BudgetSpent, deadline_scope

    sp, gauge = sps()
    directory.add_app("par", sp.base_url, max_concurrency=2)
    for _ in range(60):
        directory.bind_user("par", directory.add_user())
    with pytest.raises(BudgetSpent) as caught, deadline_scope(0.4):  # the Lambda's time, as the consumer sets it
        container.reconciler.reconcile_app("par")
    assert caught.value.delay_seconds == 1.0  # it got on: the event comes back in a second, not after a backoff
    done = len(sp.list("Users"))
    assert 0 < done < 60
    gauge.arrivals.clear()
    summary = container.reconciler.reconcile_app("par")
    assert summary["users"].get("no_change", 0) >= done - 2 and len(sp.list("Users")) == 60
    assert sp.counts()["POST Users"] <= 60 + 2  # the objects done are not sent again

    with pytest.raises(BudgetSpent) as caught, deadline_scope(0.01):  # cut before any object: the usual backoff
        container.reconciler.reconcile_app("par")
    assert caught.value.delay_seconds is None
