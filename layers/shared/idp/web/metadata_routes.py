"""GET /saml2/<slug>/metadata and /saml2/<slug>/certificate.pem, the SamlMetadataFunction's routes:
kept apart from the login routes so the metadata function imports neither sign-on, the AuthnRequest
parser nor xmlsec (its cold start is part of the product)."""
from __future__ import annotations

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from idp.app.answers import UnknownApp
from idp.app.metadata import Metadata, NoSigningKey, UnknownKey
from idp.bootstrap import container
from idp.web.pages import error_page as _error
from idp.web.pages import guard as _guard
from idp.web.pages import unknown_app as _unknown_app
from idp.web.request import current_request

metadata_router = Router()


@metadata_router.get("/saml2/<slug>/metadata")
@_guard
def idp_metadata(slug: str):
    answer = container().app_metadata.metadata(slug, current_request(metadata_router, with_form=False).base_url)
    if isinstance(answer, UnknownApp):
        return _unknown_app(slug)
    if isinstance(answer, NoSigningKey):
        return _error(409, "no_signing_key", "No signing certificate",
                      f"The application '{slug}' has no signing certificate yet.")
    assert isinstance(answer, Metadata)
    return Response(200, "application/samlmetadata+xml", answer.xml,
                    headers={"Cache-Control": "public, max-age=300", "X-Content-Type-Options": "nosniff"})


@metadata_router.get("/saml2/<slug>/certificate.pem")
@_guard
def idp_certificate(slug: str):
    kid = current_request(metadata_router, with_form=False).query.get("kid")
    answer = container().app_metadata.certificate(slug, kid)
    if isinstance(answer, UnknownApp):
        return _unknown_app(slug)
    if isinstance(answer, UnknownKey):
        what = f"signing key '{kid}'" if kid else "an active signing key"
        return _error(404, "unknown_key", "No such certificate", f"The application '{slug}' has no {what}.")
    return Response(200, "application/x-pem-file", answer.pem, headers={
        "Content-Disposition": 'attachment; filename="certificate.pem"',
        "X-Certificate-Fingerprint-SHA256": answer.fingerprint_sha256,
        "Cache-Control": "no-cache",
        "X-Content-Type-Options": "nosniff",
    })
