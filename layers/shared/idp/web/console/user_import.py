"""Import users from a CSV file (contract section 10): Users → "Import users" → a file field "CSV file" and
"Preview" (the admin API's preview: nothing written), the preview table (row, action, errors) with "Confirm
import", then the import's status (applied, failed rows; the page refreshes itself while the job runs). The
same UserImports service as POST /admin/imports/users, recording its changes as this administrator."""
from __future__ import annotations

from idp.bootstrap import container
from idp.directory.user_imports import UserImports
from idp.kernel.errors import DomainError
from idp.web.console.fields import FormErrors, checked
from idp.web.console.guard import Admin, console_route, page, see_other
from idp.web.console.router import console_router

PATH = "/console/imports/users"
# The routes carry no return annotation: powertools (validating in the local stack's resolver) would read one as
# the response model.
FILE_FIELD = "file"


def imports(admin: Admin) -> UserImports:
    by = admin.acting
    return container().user_imports.acting_as(by.actor, by.ip, by.user_agent)


@console_router.get(PATH)
@console_route(console_router)
def import_form(admin: Admin):
    return page(200, "console/user_import.html", admin, errors=None, preview=None)


@console_router.post(PATH)
@console_route(console_router)
def import_preview(admin: Admin):
    data = admin.request.files.get(FILE_FIELD)
    if not data:
        errors = FormErrors(by_field={FILE_FIELD: "Choose a CSV file (UTF-8, a header row) to preview."}, status=400)
        return page(400, "console/user_import.html", admin, errors=errors, preview=None)
    try:
        preview = imports(admin).preview(data)
    except DomainError as exc:
        errors = FormErrors(by_field={FILE_FIELD: exc.message}, status=exc.status)
        return page(exc.status, "console/user_import.html", admin, errors=errors, preview=None)
    return page(200, "console/user_import.html", admin, errors=None, preview=preview)


@console_router.post(f"{PATH}/<import_id>/confirm")
@console_route(console_router)
def import_confirm(admin: Admin, import_id: str):
    imports(admin).confirm(import_id, checked(admin.form, "send_activation"))
    return see_other(f"{PATH}/{import_id}")


@console_router.get(f"{PATH}/<import_id>")
@console_route(console_router)
def import_status(admin: Admin, import_id: str):
    status = imports(admin).status(import_id)
    return page(200, "console/user_import_status.html", admin, status=status,
                refresh=status["status"] == "running")
