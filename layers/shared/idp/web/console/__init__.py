"""The administrators' console (contract section 6): server-rendered pages over the services the admin
API calls. ``console_router`` holds every route; the modules beside it are its screens."""
from idp.web.console import app_access, app_provisioning, app_sso, apps, dashboard, groups, settings, users  # noqa: F401 - they register their routes
from idp.web.console.router import console_router

__all__ = ["console_router"]
