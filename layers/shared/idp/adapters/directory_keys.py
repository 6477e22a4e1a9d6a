"""The keys of the directory items an SSO reads (idp.bootstrap.Container.sso_reads prefetches them in
one BatchGetItem); the same keys `DirectoryStore` reads them by; and what of an item is not the record."""
from __future__ import annotations

from idp.adapters.dynamo import from_ddb


def clean(item: dict) -> dict:
    """An item without its key attributes and internal fields: the record."""
    return {k: from_ddb(v) for k, v in item.items() if k not in ("pk", "sk", "gsi1pk", "gsi1sk", "password_hash", "password_set_at", "kind")}


def app_key(slug: str) -> dict:
    return {"pk": f"APP#{slug}", "sk": "META"}


def user_key(uid: str) -> dict:
    return {"pk": f"USER#{uid}", "sk": "PROFILE"}


def user_binding_key(slug: str, uid: str) -> dict:
    """The direct binding of a user to an app (what `idp.directory.access.may_use` reads first)."""
    return {"pk": f"APP#{slug}", "sk": f"BIND#USER#{uid}"}
