"""Connected apps (one per SP): settings, per-app signing keys and their rotation, provisioning settings."""
from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from typing import Callable

from idp.directory import models
from idp.directory.ports import Secrets
from idp.directory.service import DirectoryService
from idp.kernel import targets
from idp.kernel.audit import Actor, value_changes
from idp.kernel.clock import now_iso
from idp.kernel.errors import DomainError, conflict, not_found
from idp.kernel.events import event

OFFICESPACE_DEFAULTS = {
    "nameid": "email",
    "sign": "both",
    "attributes": {"email": "email", "name": "name", "first_name": "firstname", "last_name": "lastname"},
    "mfa": "inherit",
}
CUSTOM_DEFAULTS = {"nameid": "email", "sign": "both", "attributes": {}, "mfa": "inherit"}


def signing_key_secret(slug: str, kid: str) -> str:
    return f"apps/{slug}/signing-keys/{kid}"


def scim_token_secret(slug: str) -> str:
    return f"apps/{slug}/scim-token"


def active_key(app: dict) -> dict:
    """The signing key in use (metadata only; the private key stays in the secret store)."""
    for key in app.get("signing_keys", []):
        if key["status"] == "active":
            return key
    raise DomainError(409, "no_active_key", f"app '{app['slug']}' has no active signing key")


def app_urls(slug: str, base_url: str) -> dict:
    base = base_url.rstrip("/")
    return {
        "idp_entity_id": f"{base}/saml2/{slug}",
        "sso_url": f"{base}/saml2/{slug}",
        "slo_url": f"{base}/saml2/{slug}/slo",
        "idp_slo_url": f"{base}/saml2/{slug}/slo",
        "metadata_url": f"{base}/saml2/{slug}/metadata",
        "certificate_url": f"{base}/saml2/{slug}/certificate.pem",
    }


def app_view(app: dict, base_url: str) -> dict:
    """What the admin API shows of an app: settings, URLs and certificate facts, never a secret."""
    view = {k: v for k, v in app.items() if k not in ("signing_keys", "provisioning")}
    view.setdefault("mfa", "inherit")  # apps stored before the MFA override existed
    view.update(app_urls(app["slug"], base_url))
    keys = app.get("signing_keys", [])
    view["signing_keys"] = [
        {k: key.get(k) for k in ("kid", "status", "fingerprint_sha256", "not_before", "not_after", "created_at")}
        for key in keys
    ]
    current = next((k for k in keys if k["status"] == "active"), None)
    if current:
        view["certificate_fingerprint_sha256"] = current["fingerprint_sha256"]
        view["certificate_not_after"] = current["not_after"]
    prov = app.get("provisioning")
    if prov:
        view["provisioning"] = {k: v for k, v in prov.items() if k != "token"}
    return view


@dataclass
class AppService:
    directory: DirectoryService
    secrets: Secrets
    # Called when an app's provisioning settings change: its SCIM status and breaker start afresh.
    on_provisioning_changed: Callable[[str], None] = lambda slug: None
    # Called when the SCIM base URL moves to another origin: the SCIM ids known for that app belong to
    # the old server, so the app's id mappings are forgotten (the next sync matches users anew).
    on_provisioning_moved: Callable[[str], None] = lambda slug: None
    # The local stack only: plain http to loopback is a valid target for SCIM, ACS and SLO URLs.
    allow_local_targets: bool = False

    @property
    def store(self):
        return self.directory.store

    def acting_as(self, actor: Actor, ip: str | None = None, user_agent: str | None = None) -> "AppService":
        """This service recording its changes (admin.app.*, admin.key.*) as done by ``actor``."""
        return replace(self, directory=self.directory.acting_as(actor, ip, user_agent))

    def get(self, slug: str) -> dict:
        app = self.store.get_app(slug)
        if not app:
            raise not_found("app", slug)
        return app

    def _new_key(self, slug: str, status: str) -> dict:
        from idp.saml.keys import generate_signing_key  # only the admin path pays for key generation

        generated = generate_signing_key(f"{slug} SAML signing")
        kid = f"k-{uuid.uuid4().hex[:12]}"
        self.secrets.put(signing_key_secret(slug, kid), generated.private_key_pem)
        return {
            "kid": kid,
            "status": status,
            "certificate_pem": generated.certificate_pem,
            "fingerprint_sha256": generated.fingerprint_sha256,
            "not_before": generated.not_before,
            "not_after": generated.not_after,
            "created_at": now_iso(),
        }

    def create(self, body) -> dict:
        data = models.parse(models.AppCreate, body, allow_local_targets=self.allow_local_targets).model_dump(exclude_none=True)
        if self.store.get_app(data["slug"]):
            raise conflict(f"an app with slug '{data['slug']}' already exists")
        defaults = OFFICESPACE_DEFAULTS if data.get("template", "officespace") == "officespace" else CUSTOM_DEFAULTS
        app = {**defaults, "deprovision": "deactivate", **data}
        if "sp_certificate" in app:
            app["sp_certificate"] = _sp_certificate(app["sp_certificate"])
        app["signing_keys"] = [self._new_key(app["slug"], "active")]
        created = self.store.create_app(app, lambda a: [])  # nothing is bound yet: no event
        self.directory.record("admin.app.created", app=data["slug"], changes=data,
                              detail={"kid": app["signing_keys"][0]["kid"]})
        return created

    def update(self, slug: str, body) -> dict:
        if isinstance(body, dict) and "slug" in body and body["slug"] != slug:
            raise conflict("the slug (and so the SSO IdP URL) cannot change after the app is created")
        if isinstance(body, dict):
            body = {k: v for k, v in body.items() if k != "slug"}
        data = models.parse(models.AppPatch, body, allow_local_targets=self.allow_local_targets).model_dump(exclude_unset=True)
        before = self.get(slug)
        for required in models.AppPatch.NOT_NULL:
            if required in data and data[required] is None:
                raise DomainError(400, "invalid_field", f"field '{required}' cannot be null")
        if data.get("sp_certificate"):
            data["sp_certificate"] = _sp_certificate(data["sp_certificate"])
        captured, events_for = self.directory._capture(lambda a: [event("app.sync", slug, app=slug)])
        app = self.store.update_app(slug, data, events_for)
        self.directory.publish(captured)
        # Only what changed is named (the console's forms send every field); an SP certificate's PEM is no detail.
        self.directory.record("admin.app.updated", app=slug, changes=value_changes(before, data)[0])
        return app

    def delete(self, slug: str) -> None:
        self.get(slug)
        self.store.delete_app(slug)
        self.secrets.delete_prefix(f"apps/{slug}")
        self.directory.record("admin.app.deleted", app=slug)

    # ---------- signing key rotation ----------
    def add_next_key(self, slug: str) -> dict:
        """Generate the next signing key; metadata publishes it beside the current one."""
        app = self.get(slug)
        keys = app.get("signing_keys", [])
        if any(k["status"] == "next" for k in keys):
            raise conflict(f"app '{slug}' already has a next signing key; activate or retire it first")
        keys = keys + [self._new_key(slug, "next")]
        updated = self.store.update_app(slug, {"signing_keys": keys}, lambda a: [])
        self.directory.record("admin.key.added", app=slug, detail={"kid": keys[-1]["kid"],
                                                                   "fingerprint_sha256": keys[-1]["fingerprint_sha256"]})
        return updated

    def activate_key(self, slug: str, kid: str) -> dict:
        """Make `kid` the signing key; the old one stays published (status `previous`) until retired."""
        app = self.get(slug)
        keys = app.get("signing_keys", [])
        if not any(k["kid"] == kid for k in keys):
            raise not_found("signing key", kid)
        target = next(k for k in keys if k["kid"] == kid)
        if target["status"] == "retired":
            raise conflict(f"signing key '{kid}' is retired and cannot be activated")
        for key in keys:
            if key["kid"] == kid:
                key["status"] = "active"
            elif key["status"] == "active":
                key["status"] = "previous"
        updated = self.store.update_app(slug, {"signing_keys": keys}, lambda a: [])
        self.directory.record("admin.key.activated", app=slug, detail={"kid": kid, "fingerprint_sha256": target["fingerprint_sha256"]})
        return updated

    def retire_key(self, slug: str, kid: str) -> dict:
        """Retire a key that is not active: it leaves the metadata and its private key is destroyed."""
        app = self.get(slug)
        keys = app.get("signing_keys", [])
        key = next((k for k in keys if k["kid"] == kid), None)
        if not key:
            raise not_found("signing key", kid)
        if key["status"] == "active":
            raise conflict(f"signing key '{kid}' is active; activate another key before retiring it")
        key["status"] = "retired"
        self.secrets.delete(signing_key_secret(slug, kid))
        updated = self.store.update_app(slug, {"signing_keys": keys}, lambda a: [])
        self.directory.record("admin.key.retired", app=slug, detail={"kid": kid})
        return updated

    def signing_key_pem(self, slug: str, kid: str) -> str:
        pem = self.secrets.get(signing_key_secret(slug, kid))
        if not pem:
            raise DomainError(409, "missing_key", f"the private key of signing key '{kid}' is missing")
        return pem

    # ---------- provisioning settings ----------
    def put_provisioning(self, slug: str, body) -> dict:
        app = self.get(slug)
        data = models.parse(models.ProvisioningSettings, body, allow_local_targets=self.allow_local_targets).model_dump(exclude_none=True)
        token = data.pop("token", None)
        before = app.get("provisioning") or {}
        had_token = bool(before.get("token_set"))
        if token is None and not had_token:
            raise DomainError(400, "missing_field", "field 'token' is required the first time provisioning is set up")
        # The token was entered for one server: it never follows the base URL to another origin.
        moved = bool(before.get("base_url")) and targets.origin(before["base_url"]) != targets.origin(data["base_url"])
        if moved and token is None:
            raise DomainError(400, "missing_field", "field 'token' is required when 'base_url' moves to another "
                              "scheme, host or port (the stored token stays bound to the old one)")
        if token is not None:
            self.secrets.put(scim_token_secret(slug), token)
        prov = {**(app.get("provisioning") or {}), **data, "token_set": True}
        prov.pop("failing", None)
        # New settings (or a fixed token) close the breaker and clear a failing state; app.sync pushes what waited.
        captured, events_for = self.directory._capture(lambda a: [event("app.sync", slug, app=slug)] if prov.get("enabled") else [])
        updated = self.store.update_app(slug, {"provisioning": prov}, events_for)
        if moved:
            self.on_provisioning_moved(slug)
        self.on_provisioning_changed(slug)
        self.directory.publish(captured)
        self.directory.record("admin.app.provisioning_updated", app=slug,
                              changes=[*data, *(["token"] if token is not None else [])])
        return updated

    def scim_token(self, slug: str) -> str | None:
        return self.secrets.get(scim_token_secret(slug))


def _sp_certificate(pem: str) -> str:
    from idp.saml.keys import normalize_sp_certificate

    try:
        return normalize_sp_certificate(pem)
    except ValueError as exc:
        raise DomainError(400, "invalid_field", f"field 'sp_certificate': {exc}") from None
