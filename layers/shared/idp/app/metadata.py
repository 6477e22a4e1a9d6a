"""An app's IdP metadata and its signing certificate (GET /saml2/<slug>/metadata and /certificate.pem, the
SamlMetadataFunction): the published keys (active, then next, then previous: an SP that reads the metadata trusts the
next key before it signs and the previous one until it no longer matters), the NameID format the app asserts, and
whether the app wants signed AuthnRequests. Typed answers; the route renders them. The metadata function imports
neither sign-on, the AuthnRequest parser nor xmlsec (its cold start is part of the product)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from idp.app.answers import UnknownApp
from idp.saml import constants as C
from idp.saml.metadata import build_idp_metadata

PUBLISHED_KEY_STATES = ("active", "next", "previous")


class AppReader(Protocol):
    def get_app(self, slug: str) -> dict[str, Any] | None: ...


@dataclass(frozen=True)
class NoSigningKey:
    """The app publishes no signing certificate yet (409)."""

    slug: str


@dataclass(frozen=True)
class UnknownKey:
    """No published key `kid` (or no active key when none was named): 404."""

    slug: str
    kid: str | None


@dataclass(frozen=True)
class Metadata:
    xml: str


@dataclass(frozen=True)
class Certificate:
    pem: str
    fingerprint_sha256: str


def _published(app: dict[str, Any]) -> list[dict[str, Any]]:
    keys: list[dict[str, Any]] = app.get("signing_keys") or []
    return sorted((k for k in keys if k.get("status") in PUBLISHED_KEY_STATES),
                  key=lambda k: PUBLISHED_KEY_STATES.index(k["status"]))


class AppMetadata:
    def __init__(self, apps: AppReader):
        self.apps = apps

    def metadata(self, slug: str, base_url: str) -> Metadata | UnknownApp | NoSigningKey:
        from idp.directory.apps import app_urls  # the URLs of an app, as the admin API shows them

        app = self.apps.get_app(slug)
        if not app:
            return UnknownApp(slug)
        keys = _published(app)
        if not keys:
            return NoSigningKey(slug)
        urls = app_urls(slug, base_url)
        xml = build_idp_metadata(urls["idp_entity_id"], urls["sso_url"], urls["slo_url"],
                                 [k["certificate_pem"] for k in keys], [C.nameid_format(app.get("nameid"))],
                                 want_authn_requests_signed=bool(app.get("sp_certificate")))
        return Metadata(xml.decode("utf-8"))

    def certificate(self, slug: str, kid: str | None) -> Certificate | UnknownApp | UnknownKey:
        """The published key `kid`, else the active one."""
        app = self.apps.get_app(slug)
        if not app:
            return UnknownApp(slug)
        key = next((k for k in _published(app) if (k["kid"] == kid if kid else k["status"] == "active")), None)
        if key is None:
            return UnknownKey(slug, kid)
        return Certificate(key["certificate_pem"], key["fingerprint_sha256"])
