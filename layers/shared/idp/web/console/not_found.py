"""The console's own 404 page for a /console path no screen serves (registered after every screen: powertools
tries dynamic routes in the order they were added, so these match only what nothing else does)."""
from __future__ import annotations

import inspect

from idp.web.console.guard import Admin, console_route, problem
from idp.web.console.router import console_router

MAX_DEPTH = 6


def _page(depth: int):
    """The 404 route of one depth, its signature naming the path's segments (powertools validates against it)."""

    def not_found(admin: Admin, **segments):
        return problem(404, "Page not found", "There is no such page in the console.", admin, code="not_found")

    segments = [inspect.Parameter(f"s{i}", inspect.Parameter.KEYWORD_ONLY, annotation=str) for i in range(depth)]
    not_found.__signature__ = inspect.Signature(
        [inspect.Parameter("admin", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Admin), *segments])
    not_found.__name__ = f"not_found_{depth}"
    return not_found


def register() -> None:
    """GET and POST of /console/<a>, /console/<a>/<b>, ... (up to MAX_DEPTH segments)."""
    for depth in range(1, MAX_DEPTH + 1):
        path = "/console/" + "/".join(f"<s{i}>" for i in range(depth))
        console_router.route(path, method=["GET", "POST"])(console_route(console_router)(_page(depth)))
