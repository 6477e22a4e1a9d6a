"""Which failures are AWS being unavailable (a 503 with Retry-After, contract section 13), and the request
deadline that stops new attempts before a web function's own timeout."""
from __future__ import annotations

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError

from idp.adapters.aws import AwsClients, AwsDeadline, aws_deadline
from idp.adapters.aws_faults import OUTAGE_RETRY_SECONDS, THROTTLE_RETRY_SECONDS, retry_after
from idp.web.resolver import DEADLINE_MARGIN_SECONDS, LOCAL_DEADLINE_SECONDS, request_deadline


def _client_error(code: str, status: int = 400, **extra) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "m"}, "ResponseMetadata": {"HTTPStatusCode": status}, **extra},
                       "PutItem")


@pytest.mark.parametrize(("exc", "seconds"), [
    (_client_error("ProvisionedThroughputExceededException"), THROTTLE_RETRY_SECONDS),
    (_client_error("ThrottlingException"), THROTTLE_RETRY_SECONDS),
    (_client_error("RequestThrottled"), THROTTLE_RETRY_SECONDS),
    (_client_error("InternalServerError", 500), OUTAGE_RETRY_SECONDS),
    (_client_error("ServiceUnavailable", 503), OUTAGE_RETRY_SECONDS),
    (_client_error("AnythingElse", 502), OUTAGE_RETRY_SECONDS),
    (_client_error("TransactionCanceledException", CancellationReasons=[{"Code": "None"}, {"Code": "ThrottlingError"}]),
     THROTTLE_RETRY_SECONDS),
    (EndpointConnectionError(endpoint_url="http://127.0.0.1:1"), OUTAGE_RETRY_SECONDS),
    (ReadTimeoutError(endpoint_url="http://127.0.0.1:1"), OUTAGE_RETRY_SECONDS),
    (AwsDeadline("spent"), OUTAGE_RETRY_SECONDS),
])
def test_aws_throttling_and_failures_are_503s(exc, seconds):
    assert retry_after(exc) == seconds


@pytest.mark.parametrize("exc", [
    _client_error("ConditionalCheckFailedException"),
    _client_error("ValidationException"),
    _client_error("AccessDeniedException", 403),
    _client_error("TransactionCanceledException", CancellationReasons=[{"Code": "ConditionalCheckFailed"}]),
    ValueError("a bug"),
    KeyError("x"),
])
def test_everything_else_is_not_aws_being_unavailable(exc):
    assert retry_after(exc) is None


def test_an_exception_raised_from_a_throttle_is_one_too():
    try:
        try:
            raise _client_error("ThrottlingException")
        except ClientError as inner:
            raise RuntimeError("while saving") from inner
    except RuntimeError as outer:
        assert retry_after(outer) == THROTTLE_RETRY_SECONDS


def test_no_attempt_starts_after_the_deadline(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing listens: an attempt would fail otherwise
    client = AwsClients("us-east-1").client("dynamodb")
    with aws_deadline(0), pytest.raises(AwsDeadline):
        client.get_item(TableName="t", Key={"pk": {"S": "a"}, "sk": {"S": "b"}})
    with pytest.raises(EndpointConnectionError):  # outside the deadline it does try (and finds nothing there)
        client.get_item(TableName="t", Key={"pk": {"S": "a"}, "sk": {"S": "b"}})


class _Context:
    def __init__(self, ms: int):
        self.ms = ms

    def get_remaining_time_in_millis(self) -> int:
        return self.ms


def test_the_deadline_leaves_one_attempt_of_time_before_the_functions_timeout():
    assert request_deadline(_Context(15_000)) == 15 - DEADLINE_MARGIN_SECONDS
    assert request_deadline(_Context(2_000)) == 1.0  # never less than a second
    assert request_deadline(object()) == LOCAL_DEADLINE_SECONDS
