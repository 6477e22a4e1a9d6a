"""What the SAML routes need of one app record: its IdP URLs under this request's public base, the
SP policy its inbound requests are checked against, its active signing key from the secret store,
and the binding an inbound request came in (refusing one that says two things at once)."""
from __future__ import annotations

from idp.bootstrap import container
from idp.saml import constants as C
from idp.saml.authn_request import SpPolicy
from idp.saml.binding import split_raw_query
from idp.saml.errors import SamlRequestError
from idp.saml.signing import SigningKey
from idp.web.request import WebRequest


def query_names(raw_query: str) -> set[str]:
    """The parameter names of a raw query (a repeated one counts as SAMLRequest, for the parser to refuse)."""
    try:
        return set(split_raw_query(raw_query))
    except SamlRequestError:
        return {"SAMLRequest"}


def inbound_binding(request: WebRequest) -> str | None:
    """The binding of the request's SAMLRequest (HTTP-Redirect: a GET's query; HTTP-POST: a POST's body), or
    None when it carries none. One in both places, or in the query of a POST, is refused, never guessed at."""
    in_query = "SAMLRequest" in query_names(request.raw_query)
    in_body = request.method == "POST" and "SAMLRequest" in request.form
    if in_query and in_body:
        raise SamlRequestError("inconsistent_request", "SAMLRequest is in both the query string and the body; "
                               "send it once (HTTP-Redirect: in the query of a GET; HTTP-POST: in the body of a POST)")
    if in_query and request.method != "GET":
        raise SamlRequestError("inconsistent_request", "a SAMLRequest in the query string must come with GET "
                               "(HTTP-Redirect binding); a POST carries it in its body (HTTP-POST binding)")
    if in_body:
        return C.BINDING_POST
    return C.BINDING_REDIRECT if in_query else None


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
