"""Admin API Lambda: the directory, apps, access and provisioning routes behind API Gateway."""
from aws_lambda_powertools import Logger

from idp.web.admin_routes import router as admin_router
from idp.web.health_routes import router as health_router
from idp.web.provisioning_routes import router as provisioning_router
from idp.web.resolver import lambda_app

logger = Logger()
app = lambda_app(admin_router, provisioning_router, health_router)


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event, context):
    return app.resolve(event, context)
