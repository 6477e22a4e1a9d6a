"""The local stack's mailbox (contract section 9): the `Mailer` of `make run` keeps every message instead of
sending it, and serves them at GET /_local/mail.json (newest first) and as a page at GET /_local/mail.
Local only: this package is never in the Lambda layer, and nothing in AWS mounts these routes."""
from __future__ import annotations

import html
import itertools
import re
import threading
from datetime import datetime, timezone

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from idp.kernel.mail import Email

KEEP = 1000  # the newest messages kept; older ones are dropped
_URL = re.compile(r"https?://[^\s<>\"']+")


def _linked(text: str) -> str:
    """The text, escaped, with each URL a link (so the page's links can be followed as a user would)."""
    return _URL.sub(lambda m: f'<a href="{m.group(0)}">{m.group(0)}</a>', html.escape(text, quote=False))


class LocalMailbox:
    """A `Mailer` that keeps what it is given (thread-safe: the stack's workers and requests share it)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._messages: list[dict] = []

    def send(self, email: Email) -> None:
        message = {"id": str(next(self._ids)), "to": list(email.to), "subject": email.subject, "text": email.text,
                   "at": datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")}
        if email.html:
            message["html"] = email.html
        with self._lock:
            self._messages.insert(0, message)
            del self._messages[KEEP:]

    def messages(self) -> list[dict]:
        with self._lock:
            return [dict(m) for m in self._messages]


def mailbox_router(mailbox: LocalMailbox) -> Router:
    router = Router()

    @router.get("/_local/mail.json", include_in_schema=False)
    def mail_json():
        return {"messages": mailbox.messages()}

    @router.get("/_local/mail", include_in_schema=False)
    def mail_page():
        rows = "".join(
            f"<article><h2>{html.escape(m['subject'])}</h2><p>To: {html.escape(', '.join(m['to']))} · {m['at']}</p>"
            f"<pre>{_linked(m['text'])}</pre></article>" for m in mailbox.messages()) or "<p>No messages yet.</p>"
        body = (f"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Local mailbox</title></head>"
                f"<body><h1>Local mailbox</h1><p>Every email the local stack would have sent, newest first.</p>{rows}</body></html>")
        return Response(status_code=200, content_type="text/html; charset=utf-8", body=body,
                        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"})

    return router
