"""The handlers' tracing: the X-Ray SDK (powertools `Tracer`, which patches botocore and requests so
each DynamoDB, SQS, SSM and SCIM call is a subsegment) only when IDP_XRAY_SDK is on (the template's
DetailedTracing). Importing the SDK costs ~110 ms of its own and pulls botocore into the init, ~240 ms
of a cold start in all (`python -X importtime`); without it `Tracing: Active` still records each
invocation's Lambda segment, and the metrics and the provisioning log carry the SCIM timings."""
from __future__ import annotations

from typing import Callable

from idp.bootstrap import container


def traced(handler: Callable) -> Callable:
    """`handler` under `Tracer.capture_lambda_handler` when the detailed tracing is on, else as it is."""
    if not container().settings.idp_xray_sdk:
        return handler
    from aws_lambda_powertools import Tracer

    return Tracer().capture_lambda_handler(handler)
