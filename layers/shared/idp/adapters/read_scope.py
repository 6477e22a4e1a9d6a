"""One request's single-item reads, fetched together: inside `request_reads()`, `prefetch` reads
every item a request is about to need in one BatchGetItem (strongly consistent), and `get_item`
answers from what the scope already holds before it asks DynamoDB. Outside a scope `get_item` is
a plain GetItem, so code paths that never open one behave as before.

A scope is opened around an SSO answer, the login page, and a login (POST /login and the SSO it resumes). An
adapter that writes an item a scope may hold calls `forget(key)` (the login state, throttle counters,
a session's epoch), so a later read in the same request asks DynamoDB again; the SSO writes none of
what it reads (the session's touch updates the item in hand; the replay cache and the audit log write
other items). Access stays fresh: every read is of this request, except the few items every sign-in reads
whoever signs in (an app's `REV`, the MFA policy), which a scope opened with `hot` takes from the container's
copy while it is younger than a second (idp.adapters.hot_items says why that is safe)."""
from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Callable, Iterable, Iterator, Mapping

if TYPE_CHECKING:
    from idp.adapters.hot_items import HotItems

_scope: ContextVar[dict | None] = ContextVar("idp_request_reads", default=None)
_MAX_BATCH = 100  # BatchGetItem's limit per call
_RETRIES = 3  # rounds for UnprocessedKeys before the rest is read one by one


def _k(key: Mapping) -> tuple[str, str]:
    return key["pk"], key["sk"]


_ON_USER = ("", "on-user")  # the scope's entry for what to read once the signed-in user is known


@contextmanager
def request_reads(table=None, keys: Iterable[dict] = (), on_user: Callable[[str], Iterable[dict]] | None = None,
                  hot: HotItems | None = None) -> Iterator[None]:
    """Open a scope; with `table`, prefetch `keys` now and, once `user_known(uid)` is called (by the
    session read), the keys `on_user(uid)` names, in a second BatchGetItem. With `hot`, the keys it covers
    come from its copies while they are fresh, and what is read of them is kept there."""
    token = _scope.set({})
    try:
        if table is not None:
            prefetch(table, keys, hot)
            if on_user is not None:
                _scope.get()[_ON_USER] = lambda uid: prefetch(table, on_user(uid), hot)
        yield
    finally:
        _scope.reset(token)


def user_known(uid: str) -> None:
    """The request's signed-in user is known (a session was read): read ahead what the scope asked for."""
    cache = _scope.get()
    follow = cache.pop(_ON_USER, None) if cache is not None else None
    if follow is not None:
        follow(uid)


def forget(key: Mapping) -> None:
    """An item this request just wrote: the scope's copy (if any) is dropped, so the next read asks again."""
    cache = _scope.get()
    if cache is not None:
        cache.pop(_k(key), None)


def in_scope() -> bool:
    return _scope.get() is not None


def peek(key: Mapping) -> dict | None:
    """The item the open scope read for `key` (None when it holds none or no scope is open); never reads."""
    cache = _scope.get()
    return cache.get(_k(key)) if cache is not None else None


def get_item(table, key: dict, consistent: bool = True) -> dict | None:
    cache = _scope.get()
    if cache is not None and _k(key) in cache:
        return cache[_k(key)]
    item = table.get_item(Key=key, ConsistentRead=consistent).get("Item")
    if cache is not None:
        cache[_k(key)] = item
    return item


def prefetch(table, keys: Iterable[dict], hot: HotItems | None = None) -> int:
    """Read the items of `keys` the scope does not hold yet in one BatchGetItem (a missing item is
    remembered as None); the keys `hot` covers and holds fresh are taken from it instead, and what is read
    of the keys it covers is kept there. Returns the number of DynamoDB calls made; 0 outside a scope."""
    cache = _scope.get()
    if cache is None:
        return 0
    wanted: dict[tuple[str, str], dict] = {}
    for key in keys:
        if _k(key) in cache:
            continue
        fresh, item = hot.held(key) if hot is not None and hot.covers(key) else (False, None)
        if fresh:
            cache[_k(key)] = item
        else:
            wanted.setdefault(_k(key), {"pk": key["pk"], "sk": key["sk"]})
    began = hot.clock() if hot is not None else 0.0
    calls = 0
    pending = list(wanted.values())
    for _ in range(_RETRIES):
        if not pending:
            break
        batch, pending = pending[:_MAX_BATCH], pending[_MAX_BATCH:]
        out = table.meta.client.batch_get_item(RequestItems={table.name: {"Keys": batch, "ConsistentRead": True}})
        calls += 1
        for item in out.get("Responses", {}).get(table.name, []):
            cache[_k(item)] = item
        pending = list(out.get("UnprocessedKeys", {}).get(table.name, {}).get("Keys", [])) + pending
    left = {_k(key) for key in pending}  # still unprocessed: read one by one later, never taken as missing
    for key in wanted:
        if key not in cache and key not in left:
            cache[key] = None  # asked for and not there
        if hot is not None and key in cache:
            hot.keep(wanted[key], cache[key], began)
    return calls
