"""The local stack's resolver (idp.web.resolver.LocalHttpResolver) answers each request from its own event when
requests run at once, as uvicorn runs them (one worker thread each).

Field report (issue 21's last session, reproduced here): six concurrent POST /admin/users on a fresh local stack;
five answered 409 "username 'r5' is already taken" for usernames r0-r4: powertools' `resolve` stores the event
in a class attribute shared by every thread, and the routes read it from there."""
from __future__ import annotations

import json
import threading
import time

from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from idp.web.resolver import local_app


def _event(n: int) -> dict:
    return {"httpMethod": "POST", "path": "/echo", "headers": {"content-type": "application/json"},
            "body": json.dumps({"n": n}), "isBase64Encoded": False, "queryStringParameters": {},
            "multiValueQueryStringParameters": {}, "pathParameters": {}, "rawQueryString": "",
            "requestContext": {"stage": "local", "requestId": f"r{n}",
                               "http": {"method": "POST", "path": "/echo", "sourceIp": "127.0.0.1"}}}


def test_concurrent_requests_each_read_their_own_body():
    router = APIGatewayHttpRouter()

    @router.post("/echo")
    def echo():
        first = router.current_event.json_body["n"]
        time.sleep(0.02)  # another request enters meanwhile, as the first requests of a cold stack do
        return {"first": first, "then": router.current_event.json_body["n"]}

    app = local_app(router)
    barrier = threading.Barrier(8)
    answers: dict[int, dict] = {}

    def call(n: int) -> None:
        barrier.wait()
        answers[n] = json.loads(app._resolve_in_thread(_event(n))["body"])

    for _ in range(5):
        threads = [threading.Thread(target=call, args=(n,)) for n in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert answers == {n: {"first": n, "then": n} for n in range(8)}


def test_the_openapi_document_leaves_the_admin_routers_with_the_app_that_serves_them():
    """GET /admin/openapi.json renders the document from a resolver of its own: the admin routers stay bound to
    the local app (they were rebound to the document's resolver, and read every later request's event from the
    attribute powertools shares between threads)."""
    from idp.web.admin_api import admin_function_routers, openapi_json

    app = local_app(*admin_function_routers())
    openapi_json.cache_clear()
    try:
        assert openapi_json().startswith("{")
    finally:
        openapi_json.cache_clear()
    assert all(router.api_resolver is app for router in admin_function_routers())
