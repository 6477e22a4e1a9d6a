"""Scheduled Lambda: relays the event outbox (every minute) and reconciles every app with the SP (hourly)."""
from aws_lambda_powertools import Logger

from idp.directory.events import EventPublisher, relay_outbox
from idp.directory.store import DirectoryStore

logger = Logger()


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event, context):
    relayed = relay_outbox(DirectoryStore(), EventPublisher())
    if ((event or {}).get("detail") or {}).get("job") == "outbox":
        return {"relayed": relayed}
    from idp.provisioning.reconcile import run_scheduled

    return {"relayed": relayed, "reconcile": run_scheduled(event, context)}
