"""SAML metadata Lambda: IdP metadata and certificate.pem per app."""
from aws_lambda_powertools import Logger

from idp.web.metadata_routes import metadata_router
from idp.web.resolver import lambda_app

logger = Logger()
app = lambda_app(metadata_router)


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event, context):
    return app.resolve(event, context)
