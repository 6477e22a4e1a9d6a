"""Admin console Lambda: the administrators' web console (/console), over the admin API's services."""
from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging import correlation_paths

from idp.bootstrap import container
from idp.web.console import console_router
from idp.web.resolver import lambda_app

container()  # read and validate the environment at cold start: a bad value fails the init, naming it
logger = Logger()
app = lambda_app(console_router)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
def lambda_handler(event, context):
    return app.resolve(event, context)
