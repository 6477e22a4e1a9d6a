"""A readable console format for the local stack's logs: the same powertools Logger as in Lambda
(same keys: correlation id, app, user), printed as one line instead of one JSON document."""
from __future__ import annotations

import os

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

SERVICE = "officespace-idp"
# Not the correlation id: the local stack runs every function in one process, on threads, and the
# keys powertools appends are process-wide; in Lambda one invocation has the process to itself.
_SHOWN_KEYS = ("app", "user_id", "group_id")


class ConsoleFormatter(LambdaPowertoolsFormatter):
    """`2026-12-01 20:00:00,123 INFO engine:42: created user [app=officespace user_id=u-1]`, then the traceback."""

    def serialize(self, log: dict) -> str:
        keys = " ".join(f"{k}={log[k]}" for k in _SHOWN_KEYS if log.get(k))
        line = f"{log.get('timestamp', '')} {log.get('level', '')} {log.get('location', '')}: {log.get('message', '')}"
        if keys:
            line += f"  [{keys}]"
        if log.get("exception"):
            line += "\n" + str(log["exception"])
        return line


def install(level: str = "INFO") -> Logger:
    """The service's parent logger with the console format; call before any function module is loaded
    (powertools keeps the first handler it registers for a service)."""
    os.environ.setdefault("POWERTOOLS_SERVICE_NAME", SERVICE)  # child loggers take their parent from it
    return Logger(service=SERVICE, level=level, logger_formatter=ConsoleFormatter())
