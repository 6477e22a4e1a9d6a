"""boto3 clients and the table resource of one process; they follow AWS_ENDPOINT_URL (moto locally).

Retries and time, chosen on purpose (contract section 13: an answer is never a 500 and never hangs past API
Gateway's 29 s):
- botocore's `standard` retry mode, 3 attempts in all (the first and two retries, with its jittered
  exponential backoff), for every client and function: throttling and 5xx answers are retried quickly; the
  SQS-driven functions need no more, because a failed message comes back after its visibility timeout.
- 2 s to connect and 5 s to read, per attempt: every call the product makes is a single-item or one-page
  operation that DynamoDB, SQS, SSM and Secrets Manager answer in milliseconds.
- A deadline per request or invocation (`idp.kernel.faults.deadline`): no attempt starts after it (`DeadlineSpent`,
  here also called `AwsDeadline`), so a web function answers its 503 before its own 15 s timeout (which API
  Gateway would turn into a 500).
"""
from __future__ import annotations

import logging
import threading

import boto3
from botocore.config import Config

from idp.kernel.faults import DeadlineSpent as AwsDeadline
from idp.kernel.faults import check_deadline
from idp.kernel.faults import deadline as aws_deadline

__all__ = ["AwsClients", "AwsDeadline", "aws_deadline"]

# botocore's DEBUG lines carry whole request bodies (secret values included): never let them on.
for _name in ("botocore", "boto3", "urllib3"):
    logging.getLogger(_name).setLevel(logging.WARNING)

_CONFIG = Config(retries={"total_max_attempts": 3, "mode": "standard"}, connect_timeout=2, read_timeout=5)
def _watched(client):
    client.meta.events.register("before-send", check_deadline)  # each attempt, retries included
    return client


def thread_safe_conditions(table):
    """Make the calls of a DynamoDB table resource safe from several threads at once (a parallel reconcile's
    workers share the container's table). boto3 resources are not thread-safe, and here is where it shows: the
    resource turns `Key(...)`/`Attr(...)` conditions into expressions with ONE `ConditionExpressionBuilder`
    (boto3.dynamodb.transform.TransformationInjector) whose placeholder counters every call resets, so a
    thread's reset between another's filter and key condition numbers two placeholders alike (`#n0`) and that
    query asks for the wrong attribute. Its handler is replaced by one with a builder per thread; the rest of a
    table's call (the identifiers, the serializers, the client itself) holds no state across calls."""
    from boto3.dynamodb.transform import TransformationInjector

    local = threading.local()

    def injector() -> TransformationInjector:
        mine = getattr(local, "injector", None)
        if mine is None:
            mine = local.injector = TransformationInjector()
        return mine

    def inject_condition_expressions(params, model, **kwargs):
        injector().inject_condition_expressions(params, model, **kwargs)

    def inject_attribute_value_input(params, model, **kwargs):  # after the conditions, as boto3 orders them
        injector().inject_attribute_value_input(params, model, **kwargs)

    events = table.meta.client.meta.events
    handlers = (("dynamodb-condition-expression", inject_condition_expressions),
                ("dynamodb-attr-value-input", inject_attribute_value_input))
    for unique_id, _ in handlers:
        events.unregister("before-parameter-build.dynamodb", unique_id=unique_id)
    for unique_id, handler in handlers:
        events.register("before-parameter-build.dynamodb", handler, unique_id=unique_id)
    return table


class AwsClients:
    """One boto3 client per service and one table resource per name, shared across warm invocations."""

    def __init__(self, region: str):
        self.region = region
        self._lock = threading.Lock()
        self._clients: dict[str, object] = {}
        self._tables: dict[str, object] = {}

    def client(self, service: str):
        with self._lock:  # boto3's session is not thread-safe while it creates clients
            if service not in self._clients:
                self._clients[service] = _watched(boto3.client(service, region_name=self.region, config=_CONFIG))
            return self._clients[service]

    def table(self, name: str):
        """The DynamoDB table `name` (resource API)."""
        with self._lock:
            if name not in self._tables:
                resource = boto3.resource("dynamodb", region_name=self.region, config=_CONFIG)
                _watched(resource.meta.client)
                self._tables[name] = thread_safe_conditions(resource.Table(name))
            return self._tables[name]
