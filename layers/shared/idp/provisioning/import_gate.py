"""The first push to a non-empty SP waits for the import's confirmation when the app asks for it
(``require_import_confirmation`` in its provisioning settings): nothing the SP already holds is adopted
by surprise. The gate opens for good when the admin confirms an import report, or when a push finds the
SP empty (nothing to adopt); it is remembered in the app's provisioning status (``import_gate``)."""
from __future__ import annotations

from aws_lambda_powertools import Logger

from idp.provisioning.ports import AppStatusStore
from idp.provisioning.run import Run

log = Logger(child=True)

OPEN = "open"


def may_push(run: Run, status: AppStatusStore) -> bool:
    """Whether pushes to the run's app may go ahead (always, unless the app requires the confirmation)."""
    if not run.cfg.require_import_confirmation:
        return True
    if status.app_status(run.slug).get("import_gate") == OPEN:
        return True
    run.count()
    first = next(iter(run.client.iterate("Users", page_size=1, max_pages=1)), None)
    if first is None:
        status.open_import_gate(run.slug)
        return True
    log.info("push to app %s waits for the import confirmation (the SP already holds users)", run.slug,
             extra={"app": run.slug})
    return False
