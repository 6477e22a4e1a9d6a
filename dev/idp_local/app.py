"""The local ASGI app: every router the Lambda functions mount (the console's too), in one LocalHttpResolver, plus the
admin API's Swagger UI at /admin/swagger and the mailbox at /_local/mail (local only: the AWS functions never
enable either)."""
from __future__ import annotations

from typing import Callable

SWAGGER_PATH = "/admin/swagger"


def build_app(consumer_check: Callable[[], str | None], mailbox=None):
    from idp.web import api_models, health_routes
    from idp.web.admin_api import admin_function_routers, install_openapi_route
    from idp.web.console import console_router
    from idp.web.metadata_routes import metadata_router
    from idp.web.resolver import local_app
    from idp.web.saml_routes import login_router
    from idp.web.scim_server_routes import router as scim_server_router

    health_routes.add_check(consumer_check)
    from idp_local.mailbox import mailbox_router

    local_routers = [mailbox_router(mailbox)] if mailbox is not None else []
    app = local_app(*admin_function_routers(), metadata_router, login_router, console_router, scim_server_router, *local_routers)
    install_openapi_route(app)
    app.enable_swagger(path=SWAGGER_PATH, title=api_models.TITLE, version=api_models.VERSION,
                       description=api_models.DESCRIPTION, security_schemes=api_models.SECURITY_SCHEMES,
                       tags=api_models.TAGS, persist_authorization=True)
    app.public_paths = frozenset({SWAGGER_PATH})  # the page itself; every call it makes needs the token
    return app
