"""SAML 2.0 protocol for an IdP, pure (no AWS, no HTTP): signing keys and IdP metadata, the checked
parsing of inbound AuthnRequests and LogoutRequests (Redirect and POST bindings), and signed
Responses and LogoutResponses. The web routes that use it live in idp.web; see README.md here."""

from idp.saml.errors import SamlRequestError

__all__ = ["SamlRequestError"]
