"""The local stack's mailbox (contract section 9): every message the stack would have sent, newest first, at
GET /_local/mail.json and as a page at GET /_local/mail with each link followable."""
from __future__ import annotations

import json

from idp.kernel.mail import Postman
from idp.web.resolver import local_app
from idp_local.mailbox import LocalMailbox, mailbox_router


def _get(app, path: str) -> dict:
    event = {"httpMethod": "GET", "path": path, "headers": {}, "body": None, "isBase64Encoded": False,
             "queryStringParameters": {}, "multiValueQueryStringParameters": {}, "pathParameters": {},
             "rawQueryString": "", "requestContext": {"stage": "local", "requestId": "r1",
                                                      "http": {"method": "GET", "path": path, "sourceIp": "127.0.0.1"}}}
    return app._resolve_in_thread(event)


def test_the_mailbox_keeps_each_message_newest_first_and_serves_them():
    mailbox = LocalMailbox()
    app = local_app(mailbox_router(mailbox))
    assert json.loads(_get(app, "/_local/mail.json")["body"]) == {"messages": []}
    postman = Postman(mailbox)
    values = {"name": "Ann", "username": "ann", "when": "today"}
    assert postman.send("factor_changed", "ann@example.com", "http://127.0.0.1:8000", factor="A passkey", added=True, **values)
    assert postman.send("password_changed", "bob@example.com", "http://127.0.0.1:8000", how="", **values)
    messages = json.loads(_get(app, "/_local/mail.json")["body"])["messages"]
    assert [m["to"] for m in messages] == [["bob@example.com"], ["ann@example.com"]]
    first = messages[0]
    assert set(first) == {"id", "to", "subject", "text", "html", "at"}
    assert first["subject"] == "Your OfficeSpace IdP password was changed"
    assert "http://127.0.0.1:8000/account" in first["text"]
    page = _get(app, "/_local/mail")
    assert page["statusCode"] == 200 and "text/html" in page["headers"]["Content-Type"]
    assert '<a href="http://127.0.0.1:8000/account">' in page["body"]
