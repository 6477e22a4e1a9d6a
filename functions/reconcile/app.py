"""Scheduled Lambda: relays the event outbox (every minute) and reconciles every app with the SP (hourly)."""
from aws_lambda_powertools import Logger

from idp.bootstrap import container
from idp.directory.outbox import relay_outbox
from idp.web.tracing import traced

container()  # read and validate the environment at cold start: a bad value fails the init, naming it
logger = Logger()


@logger.inject_lambda_context(correlation_id_path="id", clear_state=True)  # the EventBridge event id
@traced  # the X-Ray SDK only with DetailedTracing (idp.web.tracing)
def lambda_handler(event, context):
    parts = container()
    relayed = relay_outbox(parts.store, parts.publisher)
    if ((event or {}).get("detail") or {}).get("job") == "outbox":
        return {"relayed": relayed}
    return {"relayed": relayed, "reconcile": parts.reconciler.run_scheduled()}
