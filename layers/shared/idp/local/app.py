"""The local ASGI app: every router the Lambda functions mount, in one LocalHttpResolver."""
from __future__ import annotations

from typing import Callable


def build_app(consumer_check: Callable[[], str | None]):
    from idp.provisioning.routes import router as provisioning_router
    from idp.saml.routes import login_router, metadata_router
    from idp.web import health_routes
    from idp.web.admin_routes import router as admin_router
    from idp.web.resolver import local_app

    health_routes.add_check(consumer_check)
    return local_app(admin_router, provisioning_router, health_routes.router, metadata_router, login_router)
