"""The administrators' console (contract section 6): server-rendered pages over the services the admin
API calls. ``console_router`` holds every route; the modules beside it are its screens."""
from idp.web.console import (  # noqa: F401 - they register their routes
    app_access,
    app_provisioning,
    app_sso,
    apps,
    dashboard,
    events,
    groups,
    settings,
    sources,
    user_import,
    users,
)
from idp.web.console.not_found import register as _register_not_found
from idp.web.console.router import console_router

_register_not_found()  # last: it serves only the /console paths no screen serves

__all__ = ["console_router"]
