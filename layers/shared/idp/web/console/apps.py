"""Applications: the paginated list; Add New Application (the catalogue: OfficeSpace or Custom SAML)
and its form (Display Label, SP Entity ID, ACS URLs one per line, Default RelayState, Save Application);
an app's General tab (label, bookmark URL) and deleting an app after a confirmation. Reads go through the apps
use case (idp.app.app_admin), every change through the AppService the admin API calls."""
from __future__ import annotations

from idp.app.app_admin import AppAdmin
from idp.bootstrap import container
from idp.directory.apps import app_view
from idp.kernel.errors import DomainError
from idp.web.console.fields import FormErrors, lines, page_size, text, unconfirmed
from idp.web.console.guard import Admin, console_route, page, see_other
from idp.web.console.router import console_router, get_app

CATALOGUE = {
    "officespace": {"name": "OfficeSpace", "label": "OfficeSpace",
                    "summary": "Desk and room booking. SAML SSO with NameID = email and the attributes email, name, "
                               "first_name, last_name; SCIM provisioning of users and groups."},
    "custom": {"name": "Custom SAML", "label": "",
               "summary": "Any SAML 2.0 service provider: you choose the NameID, what is signed and the attributes."},
}
FIELDS = ("label", "slug", "sp_entity_id", "acs_urls", "default_relay_state", "nameid", "sign", "bookmark_url", "mfa", "confirm")
NOTICES = {"saved": "Changes saved.", "deleted": "Application deleted."}


def apps() -> AppAdmin:
    return container().app_admin


@console_router.get("/console/apps")
@console_route(console_router)
def list_apps(admin: Admin):
    query = admin.request.query
    listed = apps().list_apps(page_size(query), query.get("cursor"))
    cursor = listed.next_cursor
    return page(200, "console/apps.html", admin, apps=listed.items, notice=NOTICES.get(query.get("done", "")),
                next_url=f"/console/apps?cursor={cursor}" if cursor else None,
                first_url="/console/apps" if query.get("cursor") else None)


@console_router.get("/console/apps/new")
@console_route(console_router)
def catalogue(admin: Admin):
    return page(200, "console/catalogue.html", admin, catalogue=CATALOGUE)


def _template(name: str) -> dict:
    if name not in CATALOGUE:
        raise DomainError(404, "not_found", f"the catalogue has no application template '{name[:60]}'")
    return CATALOGUE[name]


@console_router.get("/console/apps/new/<template>")
@console_route(console_router)
def new_app(admin: Admin, template: str):
    entry = _template(template)
    return page(200, "console/app_new.html", admin, app_template=template, entry=entry,
                values={"label": entry["label"]}, errors=None, base_url=admin.request.base_url)


@console_router.post("/console/apps/new/<template>")
@console_route(console_router)
def create_app(admin: Admin, template: str):
    entry, form = _template(template), admin.form
    label = (form.get("label") or "").strip()
    body = {"template": template, "label": label, "slug": text(form, "slug") or apps().free_slug(label or entry["name"]),
            "sp_entity_id": (form.get("sp_entity_id") or "").strip(), "acs_urls": lines(form, "acs_urls") or []}
    if text(form, "default_relay_state"):
        body["default_relay_state"] = text(form, "default_relay_state")
    if template == "custom":
        body.update({k: form[k] for k in ("nameid", "sign") if form.get(k)})
    try:
        app = admin.apps.create(body)
    except DomainError as exc:
        errors = FormErrors.of(exc, FIELDS)
        return page(errors.status, "console/app_new.html", admin, app_template=template, entry=entry, values=dict(form),
                    errors=errors, base_url=admin.request.base_url)
    return see_other(f"/console/apps/{app['slug']}/sso?done=created")


def app_context(admin: Admin, slug: str) -> dict:
    """What every tab of an app shows: the app as the admin API shows it (no secret) and the tab bar."""
    return {"app": app_view(get_app(slug), admin.request.base_url), "slug": slug}


@console_router.get("/console/apps/<slug>")
@console_route(console_router)
def general(admin: Admin, slug: str):
    ctx = app_context(admin, slug)
    return page(200, "console/app_general.html", admin, tab="general", values=ctx["app"], errors=None,
                notice=NOTICES.get(admin.request.query.get("done", "")), **ctx)


@console_router.post("/console/apps/<slug>")
@console_route(console_router)
def save_general(admin: Admin, slug: str):
    form = admin.form
    body = {"label": (form.get("label") or "").strip(), "bookmark_url": text(form, "bookmark_url")}
    if form.get("mfa") in ("inherit", "required"):
        body["mfa"] = form["mfa"]
    try:
        admin.apps.update(slug, body)
    except DomainError as exc:
        if exc.status == 404:
            raise
        errors = FormErrors.of(exc, FIELDS)
        return page(errors.status, "console/app_general.html", admin, tab="general", values=dict(form), errors=errors,
                    notice=None, **app_context(admin, slug))
    return see_other(f"/console/apps/{slug}?done=saved")


def _confirm(admin: Admin, app: dict, status: int = 200, errors: FormErrors | None = None):
    label = app.get("label") or app["slug"]
    return page(status, "console/confirm.html", admin, title=f"Delete application {label}",
                message=f"Deleting {label} removes its settings, its access bindings, its provisioning state and its "
                        "signing keys (the private keys are destroyed). Users can no longer sign in to it through this "
                        "identity provider; nothing is removed from the application itself. This cannot be undone.",
                action=f"/console/apps/{app['slug']}/delete", button="Delete application",
                confirm_label=f"Yes, delete {label}", back=f"/console/apps/{app['slug']}", errors=errors)


@console_router.get("/console/apps/<slug>/delete")
@console_route(console_router)
def confirm_delete_app(admin: Admin, slug: str):
    return _confirm(admin, get_app(slug))


@console_router.post("/console/apps/<slug>/delete")
@console_route(console_router)
def delete_app(admin: Admin, slug: str):
    app = get_app(slug)
    if errors := unconfirmed(admin.form, "deletion"):
        return _confirm(admin, app, 400, errors)
    admin.apps.delete(slug)
    return see_other("/console/apps?done=deleted")
