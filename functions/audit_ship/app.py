"""Audit ship Lambda: SamlLoginFunction's log group's subscription batches in, the `sso` audit events its
`{"idp_audit": ...}` lines carry written to the directory table (idp.adapters.audit_ship_writer). A DynamoDB
failure raises: the asynchronous invocation is retried, then goes to AuditShipDLQ."""
from aws_lambda_powertools import Logger

from idp.adapters.audit_ship_writer import ship
from idp.bootstrap import container

container()  # read and validate the environment at cold start: a bad value fails the init, naming it
logger = Logger()


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event, context):
    return ship(container().table, event)
