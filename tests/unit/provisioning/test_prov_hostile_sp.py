"""Each SP on its own (contract section 4, issue 21): a hostile SP's answers (deeply nested JSON, wrong
shapes, the id `..`, a slow loris, an 80 MB answer) become classified SCIM failures in the client, and
whatever one app's work raises is that app's failure: the dispatcher and the scheduled reconcile go on
with the next app, the healthy apps go first, and a slow or failing app's share is handed to its own
message group instead of being done inline.

The client tests talk to `idp_testing.hostile_sp` on loopback (the SP is the point); the rest use the
in-memory state and SPs. New names are imported inside the tests that need them, so the others run
(and fail for the right reason) against the code before the fix."""
from __future__ import annotations

import json
import threading
import tracemalloc

import pytest

from idp.adapters.event_queue import SqsEventQueue
from idp.adapters.scim_client import ScimClient
from idp.provisioning.consumer import Consumer
from idp.provisioning.dispatch import Dispatcher, EventFailed
from idp.provisioning.engine import Engine
from idp.provisioning.import_report import classify
from idp.provisioning.policy import BreakerSettings
from idp.provisioning.reconcile import Reconciler
from idp.scim.protocol import PermanentError, RetryLater, ScimError, ScimResponse
from idp_testing.directory import FakeDirectory, Tokens
from idp_testing.hostile_sp import HostileSp
from idp_testing.provisioning_state import stores_of
from idp_testing.scim_memory import InMemoryScim

GOOD, BAD = "good", "bad"  # "bad" sorts first in the directory: the loop meets it before the healthy app


# ---------------------------------------------------------------- the client against a hostile SP
@pytest.fixture
def hostile():
    sp = HostileSp(trickle_every=0.2)
    yield sp
    sp.close()


def finished(call, limit: float = 30.0):
    """Run `call` in a thread; (returned, raised) once it ends. A liveness guard, not a speed claim: the
    client's deadline in these tests is 1 s, and the old client read a trickle for hours."""
    out: dict = {}

    def run():
        try:
            out["value"] = call()
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            out["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(limit)
    assert not thread.is_alive(), f"the request was still running after {limit} s"
    return out.get("value"), out.get("error")


def test_deeply_nested_json_is_a_classified_failure_not_a_recursion_error(hostile):
    hostile.mode = "deep"
    client = ScimClient(hostile.base_url, "t")
    for call in (lambda: list(client.iterate("Users")), lambda: client.search("Users", 'userName eq "a"'),
                 lambda: client.create("Users", {"userName": "a"}), lambda: client.get("Users", "u1")):
        with pytest.raises(PermanentError, match="nested"):
            call()


def test_wrong_shapes_are_classified_failures_naming_the_shape(hostile):
    hostile.mode = "shapes"
    client = ScimClient(hostile.base_url, "t")
    with pytest.raises(PermanentError, match=r"Resources\[0\]"):
        client.search("Users", 'userName eq "a"')
    with pytest.raises(PermanentError, match=r"Resources\[0\]"):
        list(client.iterate("Users"))
    with pytest.raises(PermanentError, match="list, not an object"):
        client.create("Users", {"userName": "a"})


def test_an_id_such_as_dotdot_is_refused_in_answers_and_never_put_in_a_path(hostile):
    hostile.mode = "dotdot"
    client = ScimClient(hostile.base_url, "t")
    with pytest.raises(PermanentError, match="path segment"):
        client.create("Users", {"userName": "a"})
    with pytest.raises(PermanentError, match="path segment"):
        client.search("Users", 'userName eq "a"')
    sent = len(hostile.requests)
    for call in (lambda: client.patch("Users", "..", []), lambda: client.delete("Users", ".."),
                 lambda: client.replace("Users", "a/../b", {}), lambda: client.get("Users", "..")):
        with pytest.raises(PermanentError):
            call()
    assert len(hostile.requests) == sent  # refused before a request went out (no PATCH /scim/v2/)


@pytest.mark.parametrize("mode", ["trickle", "trickle_headers"])
def test_a_slow_loris_is_cut_at_the_absolute_deadline_as_a_transient_failure(hostile, mode):
    hostile.mode = mode
    client = ScimClient(hostile.base_url, "t", timeout=(5, 30))  # each byte arrives well within the read timeout
    client.deadline = 1.0  # the per-request deadline (REQUEST_DEADLINE in production)
    _value, error = finished(lambda: client.search("Users", 'userName eq "a"'))
    assert isinstance(error, RetryLater), error
    assert "deadline" in error.message
    assert client.exchanges[-1].error == "deadline"


def test_an_80_mb_answer_is_refused_at_the_cap_without_reading_it(hostile):
    from idp.scim.protocol import MAX_ANSWER_BYTES

    hostile.mode = "huge"
    client = ScimClient(hostile.base_url, "t")
    tracemalloc.start()
    try:
        _value, error = finished(lambda: list(client.iterate("Users")))
        _now, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert isinstance(error, PermanentError), error
    assert "larger than 4 MB" in error.message
    assert peak < 4 * MAX_ANSWER_BYTES, f"{peak} bytes held at the peak"
    assert hostile.huge_sent < 40 * 1024 * 1024  # the client hung up long before the end of the 80 MB


@pytest.mark.parametrize("value,ok", [
    ("2819c223-7f76-453a-919d-413861904646", True), ("a b", True), ("ü-1", True), ("x" * 256, True),
    ("..", False), (".", False), (" .. ", False), ("", False), ("  ", False), ("a/b", False), ("a?b", False),
    ("a#b", False), ("a\\b", False), ("a\x00b", False), ("a\nb", False), ("a\u2028b", False), ("x" * 257, False),
    (None, False), (5, False), (["a"], False),
])
def test_check_scim_id(value, ok):
    from idp.scim.protocol import check_scim_id, safe_scim_id

    assert (check_scim_id(value) is None) is ok
    assert safe_scim_id(value) == (value if ok else None)


# ---------------------------------------------------------------- two apps: one healthy, one hostile
class TwoSps:
    def __init__(self, state):
        self.good = InMemoryScim(base_url="https://good.example.com/scim/v2")
        self.bad = InMemoryScim(base_url="https://bad.example.com/scim/v2")
        self.order: list[str] = []  # which SP each request went to, in order
        self.dir = FakeDirectory()
        self.dir.add_app(GOOD, self.good.base_url)
        self.dir.add_app(BAD, self.bad.base_url)
        self.state = state
        self.engine = Engine(self.dir, stores_of(state), Tokens(good="secret", bad="secret"), client_factory=self.factory,
                             sleep=lambda s: None)

    def factory(self, base_url, token, **kw):
        sp = self.good if base_url.startswith(self.good.base_url) else self.bad
        name = GOOD if sp is self.good else BAD

        def note(method, path, params, body):
            self.order.append(name)

        sp.intercept(note, times=None)
        return sp.client_factory(base_url, token, **kw)

    def user(self) -> str:
        uid = self.dir.add_user()
        self.dir.bind_user(GOOD, uid)
        self.dir.bind_user(BAD, uid)
        return uid

    def hostile(self, answer) -> None:
        """Every request to the bad SP from now on: `answer` (a ScimResponse) or raise it (an exception)."""
        def respond(method, path, params, body):
            if isinstance(answer, BaseException):
                raise answer
            return answer

        self.bad.intercepts.clear()
        self.bad.intercept(respond, times=None)

    def good_user(self, uid) -> dict | None:
        return next((u for u in self.good.list("Users") if u.get("externalId") == uid), None)


@pytest.fixture
def two(state):
    return TwoSps(state)


def suspended(two, uid):
    two.dir.update_user(uid, state="SUSPENDED")
    return {"type": "user.updated", "id": uid}


@pytest.mark.parametrize("raised", [RecursionError("maximum recursion depth exceeded while decoding a JSON array"),
                                    AttributeError("'str' object has no attribute 'get'"), KeyError("id"),
                                    TypeError("'int' object is not iterable")])
def test_whatever_one_app_raises_is_its_failure_and_the_next_app_still_gets_the_suspension(two, raised):
    uid = two.user()
    Dispatcher(two.engine).apply({"type": "user.created", "id": uid})
    assert two.good_user(uid)["active"] is True
    two.hostile(raised)
    with pytest.raises(EventFailed) as failed:
        Dispatcher(two.engine).apply(suspended(two, uid))
    assert two.good_user(uid)["active"] is False  # the healthy SP got it although the bad app came first
    [(slug, error)] = failed.value.errors
    assert slug == BAD and isinstance(error, ScimError) and type(raised).__name__ in str(error)
    assert type(raised).__name__ in two.state.app_status(BAD)["last_error"]


def test_a_wrong_shape_that_reaches_the_engine_is_the_apps_failure_not_a_crash(two):
    uid = two.user()
    two.hostile(ScimResponse(200, {"Resources": ["x", 1], "totalResults": 2}, None))
    with pytest.raises(EventFailed) as failed:
        Dispatcher(two.engine).apply({"type": "user.created", "id": uid})
    assert two.good_user(uid) is not None
    [(slug, error)] = failed.value.errors
    assert slug == BAD and isinstance(error, PermanentError) and "Resources[0]" in error.message


def test_unusable_answers_count_against_the_apps_breaker_so_its_status_names_them(two):
    uid = two.user()
    two.hostile(ScimResponse(201, {"id": "..", "userName": "x"}, None))
    dispatcher = Dispatcher(two.engine, breaker=BreakerSettings(threshold=3))
    for _ in range(3):
        with pytest.raises(EventFailed):
            dispatcher.apply({"type": "user.created", "id": uid})
    status = two.state.app_status(BAD)
    assert status["state"] == "failing"
    assert "path segment" in status["reason"] and "path segment" in status["last_error"]
    assert two.state.app_status(GOOD).get("state", "ok") == "ok"


def trip(two, clock):
    """The bad app's breaker opened and its cooldown over: failing, but requests may go (half-open)."""
    for _ in range(5):
        two.state.note_transient_failure(BAD, "GET /Users → 503", threshold=5, base_cooldown=1, max_cooldown=1)
    clock.advance(2)
    assert two.state.app_status(BAD)["state"] == "failing"


def test_healthy_apps_go_first(two, clock):
    uid = two.user()
    trip(two, clock)
    two.order.clear()
    Dispatcher(two.engine).apply({"type": "user.created", "id": uid})
    assert two.order and two.order[0] == GOOD and BAD in two.order
    assert two.order.index(BAD) > max(i for i, name in enumerate(two.order) if name == GOOD)


def test_a_failing_apps_share_goes_to_its_own_message_group(two, clock):
    uid = two.user()
    trip(two, clock)
    sent: list[tuple[dict, str]] = []
    two.order.clear()
    outcomes = Dispatcher(two.engine, offload=lambda share, slug: sent.append((share, slug)) or True).apply(
        {"type": "user.created", "id": uid, "at": "2026-01-01T00:00:00Z"})
    assert sent == [({"type": "user.created", "id": uid, "app": BAD, "offloaded": 1, "at": "2026-01-01T00:00:00Z"}, BAD)]
    assert BAD not in two.order and two.good_user(uid) is not None  # no request to the bad SP inline
    assert {o.app: o.outcome for o in outcomes}[BAD] == "deferred"
    # the offloaded share itself is done inline (and never handed off again)
    two.order.clear()
    Dispatcher(two.engine, offload=lambda share, slug: pytest.fail("offloaded twice")).apply(sent[0][0])
    assert BAD in two.order and GOOD not in two.order


def test_an_app_whose_request_is_cut_by_its_budget_has_this_and_its_next_shares_handed_off(two):
    from idp.scim.protocol import BudgetSpent

    uids = [two.user() for _ in range(3)]
    sent: list[str] = []
    dispatcher = Dispatcher(two.engine, offload=lambda share, slug: sent.append(share["id"]) or True)
    dispatcher.begin_invocation()
    dispatcher.apply({"type": "user.created", "id": uids[0]})
    assert sent == []  # a quick SP: done inline
    cut = BudgetSpent("GET /Users: the SP did not finish its answer within the 1.0 s left of the time budget")
    two.hostile(cut)
    dispatcher.apply({"type": "user.created", "id": uids[1]})
    assert sent == [uids[1]]  # cut: handed to its own group, not counted against the SP
    two.bad.intercepts.clear()
    two.order.clear()
    dispatcher.apply({"type": "user.created", "id": uids[2]})
    assert sent == uids[1:] and BAD not in two.order  # slow now: handed off without a request
    assert all(two.good_user(u) is not None for u in uids)
    assert not two.state.app_status(BAD).get("consecutive_failures")


def test_the_budget_caps_each_request_of_an_inline_share(hostile):
    from idp.scim.protocol import BudgetSpent, request_cap

    hostile.mode = "trickle"
    client = ScimClient(hostile.base_url, "t")  # its own deadline: 20 s

    def capped():
        with request_cap(0.5):
            return client.search("Users", 'userName eq "a"')

    _value, error = finished(capped)
    assert isinstance(error, BudgetSpent), error


class RecordingSqs:
    def __init__(self):
        self.sent: list[dict] = []
        self.visibility: list = []

    def send_message(self, **params):
        self.sent.append(params)

    def change_message_visibility(self, **params):
        self.visibility.append(params)


def test_the_consumer_sends_a_slow_apps_share_to_one_group_per_app(two, clock):
    uid = two.user()
    trip(two, clock)
    sqs = RecordingSqs()
    consumer = Consumer(Dispatcher(two.engine), queue=SqsEventQueue(sqs), queue_url="https://sqs/q.fifo", isolate_apps=True)
    record = {"messageId": "m1", "receiptHandle": "rh1", "body": json.dumps({"type": "user.created", "id": uid}),
              "attributes": {"ApproximateReceiveCount": "1", "MessageGroupId": uid}, "messageAttributes": {},
              "md5OfBody": "", "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:us-east-1:1:q.fifo",
              "awsRegion": "us-east-1"}
    assert consumer.handle_batch({"Records": [record]}) == {"batchItemFailures": []}
    [msg] = sqs.sent
    assert msg["MessageGroupId"] == "app-slow:bad" and json.loads(msg["MessageBody"])["app"] == BAD
    again = Consumer(Dispatcher(two.engine), queue=SqsEventQueue(sqs), queue_url="https://sqs/q.fifo", isolate_apps=True)
    again.handle_batch({"Records": [record]})  # the same message delivered again: the same deduplication id
    assert sqs.sent[1]["MessageDeduplicationId"] == msg["MessageDeduplicationId"]
    assert two.good_user(uid) is not None


def test_the_scheduled_reconcile_goes_on_after_an_app_that_raises(two):
    uid = two.user()
    two.hostile(RecursionError("maximum recursion depth exceeded"))
    results = Reconciler(two.engine).run_scheduled()
    assert results[GOOD]["result"] == "reconciled" and two.good_user(uid) is not None
    assert results[BAD]["result"] == "failed" and "RecursionError" in results[BAD]["reason"]
    assert "RecursionError" in two.state.app_status(BAD)["last_error"]


def test_the_import_report_never_fails_on_an_sp_users_shapes():
    report = classify([{"id": "1", "userName": "a@x", "emails": 5}, {"id": 7}, "x", {"id": "2", "emails": ["e"]}],
                      {"u1": {"userName": "a@x"}}, {}, {"u1"}, "emails")
    assert [row["sp_id"] for row in report.items] == ["1", "2"]
