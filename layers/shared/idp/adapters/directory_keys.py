"""The keys of the directory items an SSO reads (idp.bootstrap.Container.sso_reads prefetches them in
one BatchGetItem); the same keys `DirectoryStore` reads them by; and what of an item is not the record."""
from __future__ import annotations

from idp.adapters.dynamo import from_ddb

# Keys and secrets of an item: never part of the record (a source's token is kept only as its hash, never shown).
# An identity source's copy of the SCIM resource it wrote (idp.directory.inbound) is the SCIM server's alone.
_INTERNAL = frozenset({"pk", "sk", "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk", "password_hash", "password_set_at",
                       "token_hash", "kind", "scim_document", "source_deleted"})


def clean(item: dict, keep: frozenset[str] = frozenset()) -> dict:
    """An item without its key attributes and internal fields (but those in `keep`): the record."""
    return {k: from_ddb(v) for k, v in item.items() if k not in _INTERNAL or k in keep}


def app_key(slug: str) -> dict:
    return {"pk": f"APP#{slug}", "sk": "META"}


def user_key(uid: str) -> dict:
    return {"pk": f"USER#{uid}", "sk": "PROFILE"}


def user_binding_key(slug: str, uid: str) -> dict:
    """The direct binding of a user to an app as its mirror under the user (what `idp.directory.access.may_use`
    reads first): on the user's partition, not the app's, which every sign-in to the app would read."""
    return {"pk": f"USER#{uid}", "sk": f"APP#{slug}"}
