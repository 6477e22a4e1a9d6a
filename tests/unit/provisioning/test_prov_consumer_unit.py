"""The consumer on the in-memory state and SP with a recording SQS stand-in: a busy create comes back
after the Busy delay; on its last allowed receive a transient failure is sent again as a fresh copy
(never burnt into the DLQ); a 401 comes back after `auth_retry`; the same work twice in one batch is
done once."""
import json

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from idp.adapters.event_queue import SqsEventQueue
from idp.provisioning.consumer import Consumer
from idp.provisioning.dispatch import Dispatcher
from idp.provisioning.policy import BreakerSettings

APP = "office"
QUEUE = "https://sqs.us-east-1.amazonaws.com/123456789012/events.fifo"


class RecordingSqs:
    def __init__(self):
        self.visibility: list[tuple[str, int]] = []
        self.sent: list[dict] = []

    def change_message_visibility(self, QueueUrl, ReceiptHandle, VisibilityTimeout):
        self.visibility.append((ReceiptHandle, VisibilityTimeout))

    def send_message(self, **params):
        self.sent.append(params)


def sqs_event(*bodies, receive_count=1):
    return {"Records": [{
        "messageId": f"m{i}", "receiptHandle": f"rh{i}", "body": json.dumps(body),
        "attributes": {"ApproximateReceiveCount": str(receive_count), "MessageGroupId": body["id"],
                       "MessageDeduplicationId": f"d{i}", "SentTimestamp": "0"},
        "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:events.fifo", "awsRegion": "us-east-1",
    } for i, body in enumerate(bodies)]}


@pytest.fixture
def sqs():
    return RecordingSqs()


@pytest.fixture
def consumer(engine, sqs, clock):
    breaker = BreakerSettings(threshold=5, base_cooldown=30, max_cooldown=600, auth_retry=45)
    return Consumer(Dispatcher(engine, breaker=breaker), queue=SqsEventQueue(sqs), queue_url=QUEUE, max_receive_count=4,
                    backoff_base=2, backoff_cap=60, permanent_delay=5, rand=lambda: 0.0, clock=clock)


def user_created(uid):
    return {"type": "user.created", "id": uid, "at": "2026-01-01T00:00:00Z"}


def handle(consumer, event):
    """One invocation; a batch that failed entirely raises (powertools), as Lambda then retries it all."""
    try:
        return consumer.handle_batch(event)
    except BatchProcessingError:
        return {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in event["Records"]]}


def test_busy_create_comes_back_after_the_busy_delay(consumer, sqs, state, bound_user):
    uid = bound_user()
    state.claim_create(APP, "USER", uid)
    answer = handle(consumer, sqs_event(user_created(uid)))
    assert answer == {"batchItemFailures": [{"itemIdentifier": "m0"}]}
    assert sqs.visibility == [("rh0", 2)] and sqs.sent == []


def test_transient_failure_on_the_last_receive_is_sent_again_not_burnt(consumer, sqs, state, clock, bound_user):
    uid = bound_user()
    state.claim_create(APP, "USER", uid)
    answer = consumer.handle_batch(sqs_event(user_created(uid), receive_count=3))
    assert answer == {"batchItemFailures": []}  # the old copy is deleted...
    (copy,) = sqs.sent  # ...and a fresh one sent, not before the delay
    body = json.loads(copy["MessageBody"])
    assert body["requeued"] == 1 and body["not_before"] == round(clock() + 2.0, 3)
    assert copy["MessageGroupId"] == uid

    # the fresh copy, received early, only waits
    answer = handle(consumer, sqs_event(body))
    assert answer["batchItemFailures"] == [{"itemIdentifier": "m0"}] and sqs.visibility[-1] == ("rh0", 2)


def test_auth_failure_comes_back_after_auth_retry(consumer, sqs, tokens, bound_user):
    uid = bound_user()
    tokens.tokens[APP] = "wrong"
    handle(consumer, sqs_event(user_created(uid)))
    assert sqs.visibility == [("rh0", 45)]


def test_the_same_work_twice_in_one_batch_is_done_once(consumer, sp, bound_user):
    uid = bound_user()
    answer = consumer.handle_batch(sqs_event(user_created(uid), user_created(uid)))
    assert answer == {"batchItemFailures": []}
    assert sp.counts() == {"GET Users": 1, "POST Users": 1}


def test_log_entries_of_a_batch_are_written_by_the_end_of_it(consumer, state, bound_user):
    users = [bound_user() for _ in range(3)]
    consumer.handle_batch(sqs_event(*[user_created(u) for u in users]))
    assert state.pending() == 0
    assert all(state.read_log(APP, user_id=u)[0]["action"] == "create" for u in users)
