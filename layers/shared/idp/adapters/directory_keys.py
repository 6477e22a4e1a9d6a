"""The keys of the directory items an SSO reads (idp.bootstrap.Container.sso_reads prefetches them in
one BatchGetItem); the same keys `DirectoryStore` reads them by."""
from __future__ import annotations


def app_key(slug: str) -> dict:
    return {"pk": f"APP#{slug}", "sk": "META"}


def user_key(uid: str) -> dict:
    return {"pk": f"USER#{uid}", "sk": "PROFILE"}


def user_binding_key(slug: str, uid: str) -> dict:
    """The direct binding of a user to an app (what `idp.directory.access.may_use` reads first)."""
    return {"pk": f"APP#{slug}", "sk": f"BIND#USER#{uid}"}
