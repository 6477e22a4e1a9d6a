"""CSV import job Lambda: SQS messages {import_id, chunk} in, each chunk's rows applied through the directory service
(partial batch failures: a chunk that raised is delivered again)."""
from aws_lambda_powertools import Logger

from idp.bootstrap import container
from idp.directory.import_job import handle_batch

container()  # read and validate the environment at cold start: a bad value fails the init, naming it
logger = Logger()


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event, context):
    parts = container()
    return handle_batch(parts.user_imports, event, parts.settings.import_max_receive_count)
