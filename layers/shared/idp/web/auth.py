"""Admin API authentication: a bearer token compared in constant time, checked by a middleware on
every /admin route."""
from __future__ import annotations

import hmac

from idp.bootstrap import container
from idp.kernel.errors import DomainError
from idp.web.request import WebRequest, current_request


def admin_token() -> str:
    token = container().admin_token()
    if not token:
        raise DomainError(401, "unauthorized", "the admin API has no token configured")
    return token


def require_admin(request: WebRequest) -> None:
    """Raise 401 unless the request carries `Authorization: Bearer <admin token>`."""
    scheme, _, presented = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not presented.strip():
        raise DomainError(401, "unauthorized", "send 'Authorization: Bearer <admin token>'")
    if not hmac.compare_digest(presented.strip().encode(), admin_token().encode()):
        raise DomainError(401, "unauthorized", "the admin token is not valid")


def admin_middleware(app, next_middleware):
    """Every /admin route needs the token. powertools hoists a router's middlewares to the whole app,
    so the check keys on the path: public routes mounted beside the admin router stay public."""
    path = app.current_event.path or ""
    if path in getattr(app, "public_paths", ()):  # the local stack's Swagger UI page
        return next_middleware(app)
    if path == "/admin" or path.startswith("/admin/"):
        require_admin(current_request(app, with_form=False))
    return next_middleware(app)
