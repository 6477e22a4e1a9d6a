"""SCIM push Lambda: SQS directory change events in, SCIM requests to the SP out (partial batch failures)."""
from aws_lambda_powertools import Logger, Tracer

from idp.bootstrap import container

container()  # read and validate the environment at cold start: a bad value fails the init, naming it
logger = Logger()
tracer = Tracer()  # patches botocore and requests: every DynamoDB, SQS, SSM and SCIM call is a subsegment


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def lambda_handler(event, context):
    # Each record's SQS message id is its correlation id.
    return container().consumer.handle_batch(event, context, correlate=logger.set_correlation_id)
