"""What a route reads of a browser's request for the SAML use cases (SSO, SLO): the few parts they look at,
as values, so that the use cases never see HTTP."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Client:
    """Who asks, as the audit log records them."""

    ip: str | None
    user_agent: str | None


@dataclass(frozen=True)
class BrowserRequest:
    """GET|POST /saml2/<slug>[/slo] as read: the method, the raw query (signatures are over its octets), the
    form, the public base URL of our own endpoints, the IdP session cookie and the client."""

    slug: str
    method: str
    raw_query: str
    form: Mapping[str, str]
    base_url: str
    session_cookie: str | None
    client: Client
