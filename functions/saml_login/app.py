"""SAML login Lambda: SSO (SP- and IdP-initiated), login page, IdP session, portal, logout."""
from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging import correlation_paths

from idp.bootstrap import container
from idp.web.resolver import lambda_app
from idp.web.saml_routes import login_router

container()  # read and validate the environment at cold start: a bad value fails the init, naming it
logger = Logger()
# No Tracer here: importing the X-Ray SDK costs ~150 ms of every cold start of this public,
# latency-bound function (measured); the admin, push and reconcile functions are traced.
app = lambda_app(login_router)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
def lambda_handler(event, context):
    return app.resolve(event, context)
