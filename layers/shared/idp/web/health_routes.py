"""GET /healthz: 200 while the directory table can be read and every registered part of this process is up
(the local stack registers its checks), else 503 naming what is not (contract section 13)."""
from __future__ import annotations

from typing import Callable

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from idp.bootstrap import container

router = Router()
_checks: list[Callable[[], str | None]] = []


def add_check(check: Callable[[], str | None]) -> None:
    """Register a check that returns None when healthy, else what is wrong."""
    _checks.append(check)


@router.get("/healthz", tags=["health"], summary="200 once every part of this process is up, else 503",
            responses={200: {"description": "up", "content": {"application/json": {"schema": {
                "type": "object", "required": ["status"], "properties": {"status": {"type": "string"}}}}}},
                503: {"description": "starting: what is not up yet", "content": {"application/json": {"schema": {
                    "type": "object", "required": ["status", "problems"], "properties": {
                        "status": {"type": "string"}, "problems": {"type": "array", "items": {"type": "string"}}}}}}}})
def healthz():
    problems = [p for p in (check() for check in (container().table_probe.problem, *_checks)) if p]
    if problems:
        return Response(status_code=503, content_type="application/json", body={"status": "starting", "problems": problems})
    return {"status": "ok"}
