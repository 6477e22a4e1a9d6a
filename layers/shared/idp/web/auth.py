"""Admin API authentication: a bearer token compared in constant time."""
from __future__ import annotations

import hmac

from idp.bootstrap import container
from idp.kernel.errors import DomainError


def admin_token() -> str:
    token = container().admin_token()
    if not token:
        raise DomainError(401, "unauthorized", "the admin API has no token configured")
    return token


def require_admin(event) -> None:
    """Raise 401 unless the request carries `Authorization: Bearer <admin token>`."""
    header = (event.headers or {}).get("authorization") or (event.headers or {}).get("Authorization") or ""
    scheme, _, presented = header.partition(" ")
    if scheme.lower() != "bearer" or not presented.strip():
        raise DomainError(401, "unauthorized", "send 'Authorization: Bearer <admin token>'")
    if not hmac.compare_digest(presented.strip().encode(), admin_token().encode()):
        raise DomainError(401, "unauthorized", "the admin token is not valid")


def admin_middleware(app, next_middleware):
    """Every /admin route needs the token. powertools hoists a router's middlewares to the whole app,
    so the check keys on the path: public routes mounted beside the admin router stay public."""
    path = app.current_event.path or ""
    if path == "/admin" or path.startswith("/admin/"):
        require_admin(app.current_event)
    return next_middleware(app)
