"""The stand-in's SCIM 2.0 server: scim2-server, in memory, behind one bearer token.

It is mounted by :mod:`officespace_standin.web` under ``/scim/v2``; this module only builds
the WSGI application and reads its store for the provisioning page.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from scim2_models import ScimProvider
from scim2_server.memory import InMemoryStorage
from scim2_server.service import ScimService
from scim2_server.testserver.application import BEARER_TOKEN_SCHEME, BearerTokenApplication
from scim2_server.utils import (
    load_default_resource_types,
    load_default_schemas,
    load_default_service_provider_config,
)

MOUNT = "/scim"  # scim2-server serves under "/v2" itself, so the base URL is /scim/v2


@dataclass
class ScimBackend:
    storage: InMemoryStorage
    app: BearerTokenApplication
    token: str


def build_scim(token: str) -> ScimBackend:
    """A SCIM application over a fresh in-memory store that only accepts ``token``."""
    if not token:
        raise ValueError("the SCIM bearer token must not be empty")
    config = load_default_service_provider_config()
    # Announce the bearer scheme so that 401 answers carry WWW-Authenticate.
    config.authentication_schemes = [*(config.authentication_schemes or []), BEARER_TOKEN_SCHEME]
    provider = ScimProvider.from_discovery(
        load_default_schemas().values(), load_default_resource_types().values(), config=config
    )
    service = ScimService(provider, secret=secrets.token_urlsafe(32))
    storage = InMemoryStorage()
    app = BearerTokenApplication(storage, provider, service=service, bearer_tokens=[token])
    return ScimBackend(storage=storage, app=app, token=token)


def _primary_email(emails: list[dict] | None) -> str:
    emails = emails or []
    for email in emails:
        if email.get("primary"):
            return email.get("value") or ""
    return (emails[0].get("value") or "") if emails else ""


def _display_name(user: dict) -> str:
    name = user.get("name") or {}
    if name.get("formatted"):
        return name["formatted"]
    parts = [name.get("givenName"), name.get("familyName")]
    joined = " ".join(p for p in parts if p)
    return joined or user.get("displayName") or ""


def snapshot(storage: InMemoryStorage) -> dict[str, Any]:
    """What the store holds now, as plain JSON-able dicts: ``{"users": [...], "groups": [...]}``.

    Read straight from the in-memory storage under its lock (no HTTP, no token needed).
    """
    with storage.lock:
        resources = [r.model_dump() for r in storage.resources]
    users_raw = [r for r in resources if (r.get("meta") or {}).get("resourceType") == "User"]
    groups_raw = [r for r in resources if (r.get("meta") or {}).get("resourceType") == "Group"]
    names_by_id = {u["id"]: u.get("userName") or u["id"] for u in users_raw}
    names_by_id.update({g["id"]: g.get("displayName") or g["id"] for g in groups_raw})

    users = []
    for u in users_raw:
        meta = u.get("meta") or {}
        users.append({
            "id": u["id"],
            "userName": u.get("userName") or "",
            "name": _display_name(u),
            "givenName": (u.get("name") or {}).get("givenName") or "",
            "familyName": (u.get("name") or {}).get("familyName") or "",
            "displayName": u.get("displayName") or "",
            "email": _primary_email(u.get("emails")),
            "emails": [e.get("value") for e in (u.get("emails") or []) if e.get("value")],
            # SCIM: an absent "active" means active.
            "active": u.get("active") is not False,
            "externalId": u.get("externalId") or "",
            "created": meta.get("created") or "",
            "lastModified": meta.get("lastModified") or "",
        })
    groups = []
    for g in groups_raw:
        members = g.get("members") or []
        meta = g.get("meta") or {}
        groups.append({
            "id": g["id"],
            "displayName": g.get("displayName") or "",
            "externalId": g.get("externalId") or "",
            "memberCount": len(members),
            "members": [
                {"value": m.get("value"), "name": names_by_id.get(m.get("value"), m.get("display") or m.get("value"))}
                for m in members
            ],
            "lastModified": meta.get("lastModified") or "",
        })
    users.sort(key=lambda u: (u["userName"].lower(), u["id"]))
    groups.sort(key=lambda g: (g["displayName"].lower(), g["id"]))
    return {"users": users, "groups": groups}
