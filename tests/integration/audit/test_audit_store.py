"""The audit log in DynamoDB (moto, the table from template.yaml): order, filters, time range, pages,
retention and a failing write, and GET /admin/events through the admin API's handler."""
from __future__ import annotations

import json
import threading

import pytest

from idp_testing.lambda_client import load
from idp_testing.lambda_events import LambdaContext, http_event


class Clock:
    def __init__(self, now: float = 1_796_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def log(aws_env):
    from idp.adapters.audit_log import DynamoAuditLog
    from idp.bootstrap import container

    clock = Clock()
    return DynamoAuditLog(container().table, 90, clock=clock), clock


def _event(type_="login", **kw):
    from idp.kernel.audit import AuditEvent

    return AuditEvent(type_, **kw)


def test_newest_first_paged_and_filtered(log):
    from idp.kernel.audit_log import AuditQuery

    audit, clock = log
    for i in range(7):
        clock.now += 3600 * 7  # spans several UTC days
        audit.record(_event("sso", outcome="failure" if i % 2 else "success", user_id=f"u-{i % 2}", app="officespace",
                            reason="not_bound" if i % 2 else None, detail={"n": i}))
    clock.now += 1
    audit.record(_event("admin.user.updated", user_id="u-0", changes=("email", "password")))
    everything, cursor = audit.query(AuditQuery(), limit=3)
    assert [e["type"] for e in everything][:1] == ["admin.user.updated"] and cursor
    seen = list(everything)
    while cursor:
        page, cursor = audit.query(AuditQuery(), limit=3, cursor=cursor)
        seen += page
    assert len(seen) == 8 and len({e["id"] for e in seen}) == 8
    assert [e["at"] for e in seen] == sorted((e["at"] for e in seen), reverse=True)
    assert [e["detail"]["n"] for e in seen if e["type"] == "sso"] == [6, 5, 4, 3, 2, 1, 0]
    failures, _ = audit.query(AuditQuery(outcome="failure", app="officespace"))
    assert [e["detail"]["n"] for e in failures] == [5, 3, 1] and all(e["reason"] == "not_bound" for e in failures)
    by_user, _ = audit.query(AuditQuery(user_id="u-0", type="sso"))
    assert [e["detail"]["n"] for e in by_user] == [6, 4, 2, 0]
    assert audit.query(AuditQuery(user_id="u-0", type="admin.user.updated"))[0][0]["changes"] == ["email", "password"]
    assert [e["type"] for e in audit.query(AuditQuery(type="admin.*"))[0]] == ["admin.user.updated"]
    assert audit.query(AuditQuery(type="admin.*", user_id="u-1"))[0] == []
    assert len(audit.query(AuditQuery(type="s*"))[0]) == 0  # only a dotted prefix is a wildcard


def test_time_range_is_inclusive_and_retention_hides_old_events(log):
    from idp.kernel.audit_log import AuditQuery

    audit, clock = log
    start = clock.now
    for i in range(5):
        clock.now = start + i * 86400
        audit.record(_event("logout", user_id="u-1", detail={"day": i}))
    ms = lambda t: int(t * 1000)
    window, _ = audit.query(AuditQuery(since=ms(start + 86400), until=ms(start + 3 * 86400)))
    assert [e["detail"]["day"] for e in window] == [3, 2, 1]
    clock.now = start + 90.5 * 86400  # day 0 is past 90 days of retention (TTL may not have run yet)
    kept, _ = audit.query(AuditQuery(user_id="u-1"))
    assert [e["detail"]["day"] for e in kept] == [4, 3, 2, 1]


def test_ids_are_unique_under_concurrency(log):
    from idp.kernel.audit_log import AuditQuery

    audit, _clock = log  # one frozen millisecond for every writer
    threads = [threading.Thread(target=lambda: [audit.record(_event("login", app="a")) for _ in range(10)]) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    items, _ = audit.query(AuditQuery(app="a"), limit=100)
    assert len(items) == 40 and len({e["id"] for e in items}) == 40


def test_a_failing_write_is_counted_and_never_raised(log, caplog):
    from idp.adapters.audit_log import DynamoAuditLog

    class Broken:
        def put_item(self, **kw):
            raise RuntimeError("ProvisionedThroughputExceeded")

    class Counting:
        def __init__(self):
            self.failed = []

        def write_failed(self, event):
            self.failed.append(event.type)

        def recorded(self, event):
            raise AssertionError("not written")

    metrics = Counting()
    DynamoAuditLog(Broken(), metrics=metrics).record(_event("login", outcome="failure", reason="wrong_password"))
    assert metrics.failed == ["login"]


def test_a_bad_cursor_or_filter_is_a_400_naming_it(log):
    from idp.kernel.audit_log import AuditQuery
    from idp.kernel.errors import DomainError

    audit, _ = log
    with pytest.raises(DomainError, match="cursor"):
        audit.query(AuditQuery(), cursor="bm90LWEtY3Vyc29y")
    for params, name in (({"outcome": "maybe"}, "outcome"), ({"since": "yesterday"}, "since"),
                         ({"since": "2026-12-02T00:00:00Z", "until": "2026-12-01T00:00:00Z"}, "since")):
        with pytest.raises(DomainError, match=name):
            AuditQuery.from_params(params)


def test_events_route(aws_env):
    from idp.bootstrap import container
    from idp.kernel.audit import AuditEvent

    handler = load("admin_api")
    container().audit.record(AuditEvent("sso", outcome="failure", user_id="u-9", app="officespace", reason="suspended"))
    assert handler(http_event("GET", "/admin/events", token=None), LambdaContext())["statusCode"] == 401
    answer = handler(http_event("GET", "/admin/events", query={"app": "officespace", "outcome": "failure"}), LambdaContext())
    assert answer["statusCode"] == 200, answer["body"]
    body = json.loads(answer["body"])
    assert body["next_cursor"] is None
    (event,) = [e for e in body["items"] if e["type"] == "sso"]
    assert event["reason"] == "suspended" and event["actor"] == {"type": "system"} and event["id"].startswith("ev-")
    bad = handler(http_event("GET", "/admin/events", query={"outcome": "x"}), LambdaContext())
    assert bad["statusCode"] == 400 and json.loads(bad["body"])["error"] == "invalid_query"


def test_batched_events_are_written_25_a_call_and_all_land(log):
    from idp.kernel.audit_log import AuditQuery

    audit, clock = log
    calls = []
    audit.table.meta.client.meta.events.register("before-call.dynamodb", lambda model, **_: calls.append(model.name))
    with audit.batched():
        for i in range(60):
            clock.now += 0.001
            audit.record(_event("provisioning", app="p", user_id=f"u-{i}"))
        with audit.batched():  # nested: the outer block writes
            audit.record(_event("provisioning", app="p", user_id="u-60"))
        assert calls.count("BatchWriteItem") == 2  # 50 written, 11 still held
    assert calls.count("BatchWriteItem") == 3 and "PutItem" not in calls
    items, _ = audit.query(AuditQuery(app="p"), limit=100)
    assert len(items) == 61


def test_batched_events_are_written_when_the_block_fails(log):
    from idp.kernel.audit_log import AuditQuery

    audit, _clock = log
    with pytest.raises(RuntimeError), audit.batched():
        audit.record(_event("provisioning", app="q", user_id="u-1"))
        raise RuntimeError("the SP went away")
    items, _ = audit.query(AuditQuery(app="q"), limit=10)
    assert len(items) == 1


def items_pk(items):
    return [i["pk"] for i in items]


def test_a_busy_day_and_a_busy_app_are_spread_over_their_shards_and_read_back_in_exact_order(log, monkeypatch):
    """Issue 25 (no hot key): 400 events of one app in one day land on SHARDS day keys and SHARDS app keys,
    none with more than twice its share; every path reads them back newest first, exactly once, page by page,
    also when a page's query budget runs out halfway (the cursor then continues past what was given)."""
    from collections import Counter

    from idp.adapters import audit_log
    from idp.bootstrap import container
    from idp.kernel.audit_log import AuditQuery

    audit, clock = log
    since = int(clock.now * 1000)  # the reads below span the events' days, not the whole retention
    for i in range(400):
        clock.now += 0.01 if i % 50 else 3600 * 3  # bursts, some days apart
        audit.record(_event("sso", app="busy", user_id=f"u-{i % 3}", outcome="failure" if i % 7 == 0 else "success",
                            detail={"n": i}))
    items = [i for i in container().table.scan()["Items"] if str(i["pk"]).startswith("AUDIT#")]
    by_day, by_app = Counter(i["pk"] for i in items), Counter(i["gsi2pk"] for i in items)
    assert len(by_app) == audit_log.SHARDS and max(by_app.values()) <= 2 * 400 / audit_log.SHARDS, by_app
    assert {pk.rsplit("#", 1)[1] for pk in by_day} == {format(n, "x") for n in range(audit_log.SHARDS)}
    per_day = Counter(pk.rsplit("#", 1)[0] for pk in items_pk(items))
    assert max(by_day.values()) <= 2 * max(per_day.values()) / audit_log.SHARDS + 4, by_day
    newest_first = list(range(399, -1, -1))

    def read_all(query, limit):
        seen, cursor, pages = [], None, 0
        while True:
            page, cursor = audit.query(query, limit=limit, cursor=cursor)
            seen += [e["detail"]["n"] for e in page]
            pages += 1
            if not cursor:
                return seen, pages
            assert pages < 500

    assert read_all(AuditQuery(since=since), 37)[0] == newest_first
    assert read_all(AuditQuery(app="busy", since=since), 50)[0] == newest_first
    assert read_all(AuditQuery(app="busy", outcome="failure", since=since), 5)[0] == [n for n in newest_first if n % 7 == 0]
    assert read_all(AuditQuery(user_id="u-1", since=since), 20)[0] == [n for n in newest_first if n % 3 == 1]
    monkeypatch.setattr(audit_log, "MAX_QUERIES", audit_log.SHARDS + 3)  # a page runs out of queries mid-merge
    seen, pages = read_all(AuditQuery(since=since), 150)
    assert seen == newest_first and pages > 3
    assert read_all(AuditQuery(outcome="failure", since=since), 200)[0] == [n for n in newest_first if n % 7 == 0]
