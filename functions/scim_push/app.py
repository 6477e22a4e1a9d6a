"""SCIM push Lambda: SQS directory change events in, SCIM requests to the SP out (partial batch failures)."""
from aws_lambda_powertools import Logger

from idp.bootstrap import container

logger = Logger()


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event, context):
    return container().consumer.handle_batch(event, context)
