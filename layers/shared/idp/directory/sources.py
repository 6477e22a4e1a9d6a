"""Identity sources (contract section 10): an HR system or an upstream directory that pushes users and groups
into this directory over SCIM 2.0 with a bearer token of its own. The token is shown once (at creation and at
each rotation) and stored only as its SHA-256; it carries the source's id, so checking one is a single read.
Changes are audited (`admin.source.*`) through the directory service, like every admin change."""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Protocol

from idp.directory import models
from idp.directory.service import DirectoryService
from idp.kernel.clock import now_iso
from idp.kernel.errors import not_found
from idp.kernel.tokens import hash_token, new_token, same

TOUCH_EVERY_SECONDS = 60  # `last_used_at` is written at most once a minute per source
SCIM_PATH = "/scim/v2"

Source = dict[str, Any]


class SourceRepository(Protocol):
    """Where sources are kept (`idp.adapters.source_records.SourceRecords`, part of the directory store)."""

    def create_source(self, fields: dict[str, Any], token_hash_of: Any) -> tuple[Source, str]: ...

    def get_source(self, sid: str, consistent: bool = True) -> Source | None: ...

    def get_source_with_hash(self, sid: str) -> tuple[Source, str] | None: ...

    def list_sources(self, limit: int | None = None, cursor: str | None = None) -> tuple[list[Source], str | None]: ...

    def set_source_token(self, sid: str, token_hash: str) -> None: ...

    def touch_source(self, sid: str, at: str, not_since: str) -> bool: ...

    def delete_source(self, sid: str) -> None: ...


def _issue(sid: str) -> tuple[str, str]:
    """A new token for source `sid` and its hash: `<source id>.<256 random bits>`."""
    token = f"{sid}.{new_token()}"
    return token, hash_token(token)


def source_view(source: Source) -> Source:
    """A source as the admin API shows it: never a token, nor its hash."""
    return {k: v for k, v in source.items() if k not in ("token_hash", "version", "updated_at")} | {
        "last_used_at": source.get("last_used_at")}


@dataclass
class SourceService:
    store: SourceRepository
    directory: DirectoryService  # records admin.source.* as the acting administrator
    _touched: dict[str, float] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def acting_as(self, directory: DirectoryService) -> "SourceService":
        """This service recording its changes through `directory` (who acts, from which client)."""
        return SourceService(self.store, directory, self._touched, self._lock)

    def create(self, body: object, base_url: str) -> Source:
        data = models.parse(models.SourceCreate, body).model_dump()
        source, token = self.store.create_source(data, _issue)
        self.directory.record("admin.source.created", changes=data, detail={"source_id": source["id"]})
        return {"id": source["id"], "name": source["name"], "token": token, "scim_base_url": base_url.rstrip("/") + SCIM_PATH,
                "match": source["match"], "on_delete": source["on_delete"], "created_at": source["created_at"]}

    def get(self, sid: str) -> Source:
        source = self.store.get_source(sid)
        if not source:
            raise not_found("source", sid)
        return source

    def list(self, limit: int | None, cursor: str | None) -> tuple[list[Source], str | None]:
        items, next_cursor = self.store.list_sources(limit, cursor)
        return [source_view(s) for s in items], next_cursor

    def rotate(self, sid: str) -> Source:
        """A new token, shown once; the old one stops working now."""
        self.get(sid)
        token, token_hash = _issue(sid)
        self.store.set_source_token(sid, token_hash)
        self.directory.record("admin.source.token_rotated", changes=["token"], detail={"source_id": sid})
        return {"id": sid, "token": token}

    def delete(self, sid: str) -> None:
        """The token stops working; the source's users and groups stay, owned by nobody."""
        self.store.delete_source(sid)
        self.directory.record("admin.source.deleted", detail={"source_id": sid})

    def authenticate(self, token: str) -> Source | None:
        """The source whose token this is, or None (an unknown, rotated or deleted one). One GetItem."""
        sid, dot, _secret = token.partition(".")
        if not dot or not sid.startswith("s-") or len(sid) > 40:
            return None
        found = self.store.get_source_with_hash(sid)
        if not found or not same(found[1], hash_token(token)):
            return None
        self._touch(sid)
        return found[0]

    def _touch(self, sid: str) -> None:
        """Record the use: at most one write a minute per source (this process remembers; the store's condition
        keeps other processes to the same)."""
        now = time.monotonic()
        with self._lock:
            if now - self._touched.get(sid, -1e9) < TOUCH_EVERY_SECONDS:
                return
            self._touched[sid] = now
        at = datetime.now(timezone.utc)
        not_since = (at - timedelta(seconds=TOUCH_EVERY_SECONDS)).isoformat(timespec="seconds").replace("+00:00", "Z")
        self.store.touch_source(sid, now_iso(), not_since)
