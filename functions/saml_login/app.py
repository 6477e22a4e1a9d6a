"""SAML login Lambda: SSO (SP- and IdP-initiated), login page, IdP session, portal, logout."""
from aws_lambda_powertools import Logger

from idp.web.resolver import lambda_app
from idp.web.saml_routes import login_router

logger = Logger()
app = lambda_app(login_router)


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event, context):
    return app.resolve(event, context)
