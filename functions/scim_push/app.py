"""SCIM push Lambda: SQS directory change events in, SCIM requests to the SP out (partial batch failures)."""
from aws_lambda_powertools import Logger

from idp.provisioning.consumer import lambda_entry

logger = Logger()


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event, context):
    return lambda_entry(event, context)
