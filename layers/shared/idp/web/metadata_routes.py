"""GET /saml2/<slug>/metadata and /saml2/<slug>/certificate.pem, the SamlMetadataFunction's routes:
kept apart from the login routes so the metadata function imports neither sign-on, the AuthnRequest
parser nor xmlsec (its cold start is part of the product)."""
from __future__ import annotations

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from idp.bootstrap import container
from idp.saml import constants as C
from idp.saml.metadata import build_idp_metadata
from idp.web.pages import error_page as _error
from idp.web.pages import guard as _guard
from idp.web.pages import unknown_app as _unknown_app
from idp.web.request import WebRequest, current_request

metadata_router = Router()
PUBLISHED_KEY_STATES = ("active", "next", "previous")


def _store():
    return container().store


def _request() -> WebRequest:
    return current_request(metadata_router, with_form=False)


def _urls(slug: str, request: WebRequest) -> dict:
    from idp.directory.apps import app_urls

    return app_urls(slug, request.base_url)


@metadata_router.get("/saml2/<slug>/metadata")
@_guard
def idp_metadata(slug: str):
    app = _store().get_app(slug)
    if not app:
        return _unknown_app(slug)
    keys = app.get("signing_keys") or []
    ordered = sorted((k for k in keys if k.get("status") in PUBLISHED_KEY_STATES),
                     key=lambda k: PUBLISHED_KEY_STATES.index(k["status"]))
    if not ordered:
        return _error(409, "no_signing_key", "No signing certificate",
                      f"The application '{slug}' has no signing certificate yet.")
    urls = _urls(slug, _request())
    fmt = C.nameid_format(app.get("nameid"))
    xml = build_idp_metadata(
        urls["idp_entity_id"], urls["sso_url"], urls["slo_url"],
        [k["certificate_pem"] for k in ordered], [fmt],
        want_authn_requests_signed=bool(app.get("sp_certificate")),
    )
    return Response(200, "application/samlmetadata+xml", xml.decode("utf-8"),
                    headers={"Cache-Control": "public, max-age=300", "X-Content-Type-Options": "nosniff"})


@metadata_router.get("/saml2/<slug>/certificate.pem")
@_guard
def idp_certificate(slug: str):
    app = _store().get_app(slug)
    if not app:
        return _unknown_app(slug)
    kid = _request().query.get("kid")
    keys = [k for k in app.get("signing_keys") or [] if k.get("status") in PUBLISHED_KEY_STATES]
    key = next((k for k in keys if (k["kid"] == kid if kid else k["status"] == "active")), None)
    if key is None:
        what = f"signing key '{kid}'" if kid else "an active signing key"
        return _error(404, "unknown_key", "No such certificate", f"The application '{slug}' has no {what}.")
    return Response(200, "application/x-pem-file", key["certificate_pem"], headers={
        "Content-Disposition": 'attachment; filename="certificate.pem"',
        "X-Certificate-Fingerprint-SHA256": key["fingerprint_sha256"],
        "Cache-Control": "no-cache",
        "X-Content-Type-Options": "nosniff",
    })
