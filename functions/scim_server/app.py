"""SCIM server Lambda: the identity sources' SCIM 2.0 server at /scim/v2 (their bearer tokens only)."""
from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging import correlation_paths

from idp.bootstrap import container
from idp.web.scim_server_routes import scim_resolver
from idp.web.tracing import traced

container()  # read and validate the environment at cold start: a bad value fails the init, naming it
logger = Logger()
app = scim_resolver()


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@traced  # the X-Ray SDK only with DetailedTracing (idp.web.tracing)
def lambda_handler(event, context):
    return app.resolve(event, context)
