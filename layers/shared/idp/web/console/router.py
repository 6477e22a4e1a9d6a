"""The console's one Router (every screen module registers its routes on it), the stylesheet route,
and what several screens read: the current request and the app an URL names."""
from __future__ import annotations

from functools import lru_cache

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from idp.bootstrap import container
from idp.web.forms import TEMPLATES_DIR
from idp.web.request import WebRequest, current_request

console_router = Router()
STYLESHEET = "/console/assets/console.css"


def request() -> WebRequest:
    return current_request(console_router)


def get_app(slug: str) -> dict:
    """The app, or a 404 page."""
    return container().app_admin.get(slug)


@lru_cache(maxsize=1)
def stylesheet() -> str:
    """The product's stylesheet (the login page's) and the console's own rules, as one file."""
    return (TEMPLATES_DIR / "idp.css").read_text() + "\n" + (TEMPLATES_DIR / "console" / "console.css").read_text()


@console_router.get(STYLESHEET)
def console_css():
    # Not secret and needed by the 403 page too: served without a session.
    return Response(200, "text/css; charset=utf-8", stylesheet(),
                    headers={"Cache-Control": "public, max-age=300", "X-Content-Type-Options": "nosniff"})
