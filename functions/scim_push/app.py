"""SCIM push Lambda: SQS directory change events in, SCIM requests to the SP out (partial batch failures)."""
from aws_lambda_powertools import Logger

from idp.bootstrap import container
from idp.web.tracing import traced

container()  # read and validate the environment at cold start: a bad value fails the init, naming it
logger = Logger()


@logger.inject_lambda_context(clear_state=True)
@traced  # the X-Ray SDK only with DetailedTracing (idp.web.tracing)
def lambda_handler(event, context):
    # Each record's SQS message id is its correlation id.
    return container().consumer.handle_batch(event, context, correlate=logger.set_correlation_id)
