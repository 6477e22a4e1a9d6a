"""An app's SSO tab: the IdP side read-only (SSO IdP URL, IdP Entity ID, metadata URL, Export Metadata,
Download certificate and its SHA-256 fingerprint), the SP side editable (SP Entity ID, ACS URLs, Default
RelayState, NameID, what is signed, SLO URL, SP certificate, attributes), and signing-key rotation: add
the next key, activate it after a confirmation that carries the cut-over warning, retire an old one.
Through the AppService the admin API's /admin/apps/{slug} and /keys routes call."""
from __future__ import annotations

from idp.kernel.errors import DomainError, not_found
from idp.web.console.apps import app_context
from idp.web.console.fields import FormErrors, key_values, lines, text, unconfirmed
from idp.web.console.guard import Admin, console_route, page, see_other
from idp.web.console.router import console_router, get_app

FIELDS = ("sp_entity_id", "acs_urls", "default_relay_state", "nameid", "sign", "sp_slo_url", "sp_certificate",
          "attributes", "confirm")
NOTICES = {"created": "Application created with its own signing key pair. Give the SP the SSO IdP URL and the "
                      "certificate (or the metadata), then bind users or groups.",
           "saved": "Changes saved.", "key_added": "Next signing key added: it is published in the metadata beside the "
                                                   "current one. Give the SP its certificate before you activate it.",
           "key_activated": "The new key signs from now on; the previous one stays in the metadata until you retire it.",
           "key_retired": "Key retired: it left the metadata and its private key was destroyed."}


def _values(app: dict) -> dict:
    """The SP settings as the form shows them (lists one per line, the mapping as name = field)."""
    return {**app, "acs_urls": "\n".join(app.get("acs_urls") or []),
            "attributes": "\n".join(f"{k} = {v}" for k, v in (app.get("attributes") or {}).items())}


def sso_page(admin: Admin, slug: str, *, status: int = 200, errors: FormErrors | None = None, values: dict | None = None,
             notice: str | None = None):
    ctx = app_context(admin, slug)
    raw = get_app(slug)
    rows = [k for k in ctx["app"]["signing_keys"] if k["status"] != "retired"] + \
        [k for k in ctx["app"]["signing_keys"] if k["status"] == "retired"]
    return page(status, "console/app_sso.html", admin, tab="sso", values=values or _values(ctx["app"]), errors=errors,
                keys=rows, has_next=any(k["status"] == "next" for k in rows), notice=notice,
                officespace=(raw.get("template") or "officespace") == "officespace", **ctx)


@console_router.get("/console/apps/<slug>/sso")
@console_route(console_router)
def sso(admin: Admin, slug: str):
    return sso_page(admin, slug, notice=NOTICES.get(admin.request.query.get("done", "")))


@console_router.post("/console/apps/<slug>/sso")
@console_route(console_router)
def save_sso(admin: Admin, slug: str):
    form = admin.form
    try:
        body = {"sp_entity_id": (form.get("sp_entity_id") or "").strip(), "acs_urls": lines(form, "acs_urls") or [],
                "default_relay_state": text(form, "default_relay_state"), "sp_slo_url": text(form, "sp_slo_url"),
                "sp_certificate": text(form, "sp_certificate"), "attributes": key_values(form, "attributes") or {}}
        body.update({k: form[k] for k in ("nameid", "sign") if form.get(k)})
        admin.apps.update(slug, body)
    except DomainError as exc:
        if exc.status == 404:
            raise
        errors = FormErrors.of(exc, FIELDS)
        return sso_page(admin, slug, status=errors.status, errors=errors, values=dict(form))
    return see_other(f"/console/apps/{slug}/sso?done=saved")


@console_router.post("/console/apps/<slug>/sso/metadata")
@console_route(console_router)
def fill_from_metadata(admin: Admin, slug: str):
    """The SP's metadata (pasted) fills the SP fields of the form; nothing is saved until Save."""
    from idp.saml.errors import SamlRequestError
    from idp.saml.sp_metadata import read_sp_metadata

    xml = admin.form.get("sp_metadata") or ""
    current = _values(app_context(admin, slug)["app"])
    try:
        if not xml.strip():
            raise SamlRequestError("malformed", "paste the SP's metadata XML first")
        md = read_sp_metadata(xml)
    except SamlRequestError as exc:
        error = DomainError(400, "invalid_field", f"field 'sp_metadata': {exc.message}")
        return sso_page(admin, slug, status=400, errors=FormErrors.of(error, FIELDS + ("sp_metadata",)),
                        values={**current, "sp_metadata": xml})
    filled = {**current, "sp_entity_id": md.entity_id, "acs_urls": "\n".join(md.acs_urls)}
    if md.slo_url:
        filled["sp_slo_url"] = md.slo_url
    if md.certificate:
        filled["sp_certificate"] = md.certificate
    return sso_page(admin, slug, values=filled, notice="Filled from the SP's metadata: review the fields and press Save.")


@console_router.post("/console/apps/<slug>/keys")
@console_route(console_router)
def add_key(admin: Admin, slug: str):
    admin.apps.add_next_key(slug)
    return see_other(f"/console/apps/{slug}/sso?done=key_added")


def _key(slug: str, kid: str) -> tuple[dict, dict]:
    app = get_app(slug)
    key = next((k for k in app.get("signing_keys") or [] if k["kid"] == kid), None)
    if key is None:
        raise not_found("signing key", kid)
    return app, key


def _confirm(admin: Admin, slug: str, kid: str, action: str, status: int = 200, errors: FormErrors | None = None):
    app, key = _key(slug, kid)
    label = app.get("label") or slug
    if action == "activate":
        title, button = f"Activate the next signing key of {label}", "Activate next key"
        message = (f"From now on {label}'s assertions are signed with key {kid} (SHA-256 {key['fingerprint_sha256']}). "
                   "An SP that pins one certificate, as OfficeSpace does, refuses every sign-in until its administrator "
                   "has uploaded the new certificate: upload it in OfficeSpace's SSO settings first, then activate here "
                   "at the agreed moment of the cut-over.")
        details = ["The current key stays published in the metadata (as previous) until you retire it."]
    else:
        title, button = f"Retire signing key {kid} of {label}", "Retire key"
        message = (f"Key {kid} leaves the metadata and its private key is destroyed. An SP still configured with its "
                   "certificate can no longer verify anything signed with it. This cannot be undone.")
        details = []
    return page(status, "console/confirm.html", admin, title=title, message=message, details=details,
                action=f"/console/apps/{slug}/keys/{kid}/{action}", button=button,
                confirm_label="Yes, the SP has the new certificate" if action == "activate" else f"Yes, retire {kid}",
                back=f"/console/apps/{slug}/sso", errors=errors)


@console_router.get("/console/apps/<slug>/keys/<kid>/<action>")
@console_route(console_router)
def confirm_key(admin: Admin, slug: str, kid: str, action: str):
    if action not in ("activate", "retire"):
        raise DomainError(404, "not_found", "no such key action")
    return _confirm(admin, slug, kid, action)


@console_router.post("/console/apps/<slug>/keys/<kid>/<action>")
@console_route(console_router)
def change_key(admin: Admin, slug: str, kid: str, action: str):
    if action not in ("activate", "retire"):
        raise DomainError(404, "not_found", "no such key action")
    if errors := unconfirmed(admin.form):
        return _confirm(admin, slug, kid, action, 400, errors)
    if action == "activate":
        admin.apps.activate_key(slug, kid)
        return see_other(f"/console/apps/{slug}/sso?done=key_activated")
    admin.apps.retire_key(slug, kid)
    return see_other(f"/console/apps/{slug}/sso?done=key_retired")
