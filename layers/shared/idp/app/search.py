"""A search of the console over a paged listing (the directory has no text index): pages are read until a match past
the page asked for shows there are more, or `scan_limit` items were read."""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

SCAN_LIMIT = 2000  # items read at most by one search

ListPage = Callable[[int, str | None], tuple[list[dict[str, Any]], str | None]]


@dataclass(frozen=True)
class Found:
    """A page of a search's matches, and whether more follow."""

    items: tuple[Mapping[str, Any], ...]
    more: bool


def scan(list_page: ListPage, matches: Callable[[Mapping[str, Any]], bool], offset: int, limit: int, *,
         scan_limit: int = SCAN_LIMIT) -> Found:
    """The matches from `offset`, at most `limit` of them, reading `list_page(200, cursor)` in turn."""
    found: list[dict[str, Any]] = []
    cursor: str | None = None
    scanned = 0
    while scanned < scan_limit:
        batch, cursor = list_page(200, cursor)
        scanned += len(batch)
        found += [item for item in batch if matches(item)]
        if not cursor or len(found) > offset + limit:
            break
    return Found(tuple(found[offset:offset + limit]), len(found) > offset + limit)
