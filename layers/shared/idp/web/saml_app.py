"""What the SAML routes need of one app record: its IdP URLs under this request's public base, the
SP policy its inbound requests are checked against, and its active signing key from the secret store."""
from __future__ import annotations

from idp.bootstrap import container
from idp.saml.authn_request import SpPolicy
from idp.saml.signing import SigningKey
from idp.web.request import WebRequest


def urls(slug: str, request: WebRequest) -> dict:
    """Entity ID, SSO, SLO, metadata and certificate URLs of the app."""
    from idp.directory.apps import app_urls  # on first use: idp.directory.apps pulls in the password hasher

    return app_urls(slug, request.base_url)


def sp_policy(app: dict, destinations: tuple[str, ...]) -> SpPolicy:
    """The app's SP as an inbound request's checks see it; ``destinations`` are our URLs it may address."""
    return SpPolicy(
        sp_entity_id=app["sp_entity_id"],
        acs_urls=tuple(app.get("acs_urls") or ()),
        sp_certificate=app.get("sp_certificate") or None,
        destinations=destinations,
    )


def signing_key(app: dict) -> SigningKey:
    """The app's active signing key (the private key read from the secret store)."""
    from idp.directory.apps import active_key

    meta = active_key(app)
    pem = container().apps.signing_key_pem(app["slug"], meta["kid"])
    return SigningKey(pem, meta["certificate_pem"], kid=f"{app['slug']}/{meta['kid']}")
