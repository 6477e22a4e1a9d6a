"""The dashboard's queue depths behind `idp.provisioning.ports.EventQueueStats` (idp.adapters.event_queue_stats):
read from SQS (moto from template.yaml) through the container's dashboard use case; what cannot be read is None."""
from __future__ import annotations

import json

from idp.adapters.event_queue_stats import SqsQueueStats
from idp.provisioning.ports import QueueDepths


def test_the_dashboard_reads_the_backlog_and_the_dead_letters(aws_env):
    from idp import bootstrap

    bootstrap.reset()
    parts = bootstrap.container()
    assert parts.dashboard.queues.depths() == QueueDepths(backlog=0, in_flight=0, dead_letters=0)
    parts.sqs.send_message(QueueUrl=aws_env.queue_url, MessageBody=json.dumps({"type": "app.sync", "id": "a"}),
                           MessageGroupId="a", MessageDeduplicationId="m1")
    parts.sqs.send_message(QueueUrl=aws_env.dlq_url, MessageBody="{}", MessageGroupId="b", MessageDeduplicationId="m2")
    seen = parts.dashboard.overview(limit=25)
    assert seen.queues == QueueDepths(backlog=1, in_flight=0, dead_letters=1) and seen.apps == ()
    bootstrap.reset()


def test_an_unreadable_queue_is_none_never_an_error(aws_env):
    from idp import bootstrap

    sqs = bootstrap.container().sqs
    missing = aws_env.queue_url.rsplit("/", 1)[0] + "/no-such-queue.fifo"
    assert SqsQueueStats(sqs, missing, None).depths() == QueueDepths(None, None, None)
    assert SqsQueueStats(sqs, None, None).depths() == QueueDepths(None, None, None)
    bootstrap.reset()
