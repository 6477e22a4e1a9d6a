"""The local ASGI app: every router the Lambda functions mount, in one LocalHttpResolver."""
from __future__ import annotations

from typing import Callable


def build_app(consumer_check: Callable[[], str | None]):
    from idp.web import health_routes
    from idp.web.admin_routes import router as admin_router
    from idp.web.metadata_routes import metadata_router
    from idp.web.provisioning_routes import router as provisioning_router
    from idp.web.resolver import local_app
    from idp.web.saml_routes import login_router

    health_routes.add_check(consumer_check)
    return local_app(admin_router, provisioning_router, health_routes.router, metadata_router, login_router)
