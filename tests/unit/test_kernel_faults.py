"""Outages in the kernel (idp.kernel.faults, issue 24): the web asks `retry_after` without importing an adapter;
`idp.adapters` teaches it AWS's exceptions; the request's deadline raises `DeadlineSpent`; and a route raising
either kind of outage is answered 503 with Retry-After."""
from __future__ import annotations

import json

import pytest
from aws_lambda_powertools.event_handler.api_gateway import Router
from botocore.exceptions import ClientError

import idp.adapters  # noqa: F401 - importing the package teaches the kernel AWS's outages
from idp.kernel.faults import DeadlineSpent, ServiceUnavailable, check_deadline, deadline, retry_after
from idp_testing.lambda_events import LambdaContext, http_event


def _throttled() -> ClientError:
    return ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow down"},
                        "ResponseMetadata": {"HTTPStatusCode": 400}}, "Query")


def test_an_outage_says_how_long_to_wait_and_anything_else_is_none():
    assert retry_after(ServiceUnavailable("the queue is down", retry_after=7)) == 7
    assert retry_after(DeadlineSpent()) == 5
    assert retry_after(_throttled()) == 2  # taught by idp.adapters
    assert retry_after(ValueError("a bug")) is None
    try:
        try:
            raise ServiceUnavailable("inner", retry_after=3)
        except ServiceUnavailable as inner:
            raise RuntimeError("while saving") from inner
    except RuntimeError as outer:
        assert retry_after(outer) == 3


def test_the_deadline_stops_new_attempts_once_spent():
    check_deadline()  # no deadline: nothing to stop
    with deadline(60):
        check_deadline()
    with deadline(0), pytest.raises(DeadlineSpent):
        check_deadline()
    check_deadline()  # the scope is over


@pytest.mark.parametrize(("raised", "seconds"), [(ServiceUnavailable("down", retry_after=9), "9"), (_throttled(), "2")])
def test_a_route_raising_an_outage_answers_503_with_retry_after(raised, seconds):
    from idp.web.resolver import lambda_app

    router = Router()

    @router.get("/outage")
    def outage():
        raise raised

    answer = lambda_app(router).resolve(http_event("GET", "/outage", token=None), LambdaContext())
    assert answer["statusCode"] == 503 and answer["headers"]["Retry-After"] == seconds
    assert json.loads(answer["body"])["error"] == "service_unavailable"
