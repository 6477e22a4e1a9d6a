"""The admin API's resolver: every router the admin_api function mounts, in one place, so the Lambda
handler, the local stack, `dev/write_openapi.py` and the tests serve and check the same document."""
from __future__ import annotations

from functools import lru_cache

OPENAPI_PATH = "/admin/openapi.json"


def admin_routers() -> tuple:
    from idp.web.admin_routes import router as admin_router
    from idp.web.audit_routes import router as audit_router
    from idp.web.diagnosis_routes import router as diagnosis_router
    from idp.web.health_routes import router as health_router
    from idp.web.import_routes import router as import_router
    from idp.web.mfa_routes import router as mfa_router
    from idp.web.password_policy_routes import router as password_policy_router
    from idp.web.provisioning_routes import router as provisioning_router
    from idp.web.source_routes import router as source_router
    from idp.web.user_import_routes import router as user_import_router

    return (admin_router, provisioning_router, audit_router, diagnosis_router, import_router, user_import_router, mfa_router,
            password_policy_router, source_router, health_router)


def admin_function_routers() -> tuple:
    """What the admin_api function serves: the admin API, /account's password change (authorized by the IdP
    session, not the admin token; out of the OpenAPI document) and the password lifecycle's form submissions
    (POST /password/forgot and /password/set), which write the user as only this function may."""
    from idp.web.account_password_routes import router as account_password_router
    from idp.web.password_routes import router as password_router

    return (*admin_routers(), account_password_router, password_router)


def admin_resolver():
    """The API Gateway resolver of the admin API: powertools validation on, GET /admin/openapi.json."""
    from idp.web.resolver import lambda_app

    app = lambda_app(*admin_function_routers())
    install_openapi_route(app)
    return app


@lru_cache(maxsize=1)
def openapi_json() -> str:
    """The admin API's OpenAPI document (docs/openapi.json holds this text), generated once per process
    from a resolver of the admin routers alone (the local stack's app also mounts the SAML routes).
    Mounting a router binds it to the resolver that mounted it last (powertools' `include_router`): the
    routers go back to the resolver that serves them, or their routes would read the request of a resolver
    that never handles one (in the local stack, after the first GET /admin/openapi.json, every admin route
    read the event powertools shares between threads)."""
    from idp.web.api_models import openapi_json as render

    serving = [(router, router.api_resolver) for router in admin_function_routers()]
    try:
        return render(admin_resolver())
    finally:
        for router, resolver in serving:
            router.api_resolver = resolver


def install_openapi_route(app) -> None:
    """GET /admin/openapi.json, behind the admin token like every /admin route."""
    from aws_lambda_powertools.event_handler import Response

    from idp.web import api_models as api

    @app.get(OPENAPI_PATH, tags=["health"], summary="This document (OpenAPI 3.1)", security=api.SECURITY,
             responses=api.ok(200, None, "the OpenAPI document of the admin API"))
    def openapi_document():
        return Response(status_code=200, content_type="application/json", body=openapi_json())
