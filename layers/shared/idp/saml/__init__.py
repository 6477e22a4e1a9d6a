"""SAML 2.0 IdP: keys, metadata, AuthnRequest parsing, Response building, logout, forms, routes."""

from idp.saml.errors import SamlRequestError

__all__ = ["SamlRequestError"]
