"""A local stand-in for OfficeSpace: a strict SAML 2.0 SP page and an in-memory SCIM 2.0 server.

It shares no code with the ``idp`` package it is used to test: it knows the IdP only through
its published SAML metadata, and receives provisioning over plain SCIM HTTP.
"""
from .server import StandinHandle, start_standin

__all__ = ["StandinHandle", "start_standin"]
