"""scim2-tester against a SCIM server over real HTTP: a `requests` engine for scim2-client (it ships none; this is
the ~20 lines FIELD_NOTES describes, plus the SCIM content type it does not set), and the results counted by tag."""
from __future__ import annotations

from collections import Counter
from typing import Any
from urllib.parse import urlsplit

import requests
from scim2_client import BaseSyncSCIMClient, RequestNetworkException

SCIM_JSON = "application/scim+json"


class RequestsScimClient(BaseSyncSCIMClient):
    """scim2-client over a `requests.Session` rooted at `base_url` (…/scim/v2), with a bearer token."""

    def __init__(self, base_url: str, token: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.base_url = base_url.rstrip("/")
        self.session = requests.Session()
        self.session.headers.update({"Authorization": f"Bearer {token}", "Accept": SCIM_JSON})

    def _stays_under_base_url(self, endpoint: str) -> bool:
        parts = urlsplit(endpoint)
        return not (parts.scheme or parts.netloc or {".", ".."} & set(parts.path.split("/")))

    def request(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        headers = dict(kwargs.pop("headers", None) or {})
        if "json" in kwargs:
            headers.setdefault("Content-Type", SCIM_JSON)
        target = url if url.startswith("http") else f"{self.base_url}/{url.lstrip('/')}"
        try:
            return self.session.request(method, target, headers=headers, timeout=30, **kwargs)
        except requests.RequestException as exc:
            raise RequestNetworkException(source=None) from exc


def check(base_url: str, token: str) -> tuple[list[Any], dict[str, Counter[str]]]:
    """Run every scim2-tester check; the results and {tag: Counter(status name)}."""
    from scim2_tester import check_server

    client = RequestsScimClient(base_url, token)
    client.discover()
    results = check_server(client, raise_exceptions=False)
    by_tag: dict[str, Counter[str]] = {}
    for result in results:
        for tag in sorted(getattr(result, "tags", None) or {"untagged"}):
            by_tag.setdefault(tag, Counter())[result.status.name] += 1
    return results, by_tag
