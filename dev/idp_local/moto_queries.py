"""Query for the embedded AWS at the cost of the partition it reads, not of the table.

moto 5.2.5's `Table.query` starts every query, of the table or of an index, from `Table.all_items()`:
every item of the table, sorted by its key (Python comparisons of `DynamoType`s, N log N of them). So a
query of one user's three items cost a sort of the whole table, and the local stack slowed as its table
grew (audit events, provisioning log): the provisioning benchmark's burst of 131 admin calls took 25 s
on a fresh stack and 63 s on the second run. DynamoDB reads one partition.

This version gives moto's own query the candidates DynamoDB would look at, and leaves the rest of it
(key conditions, sort, paging, filters, projections) as it is:
- a query of the table: the items under its partition key (`Table.items[hash_key]`);
- a query of an index: the items whose index partition attribute equals the asked value, found by one
  pass over the table without sorting (moto keeps no index; the pass is linear, not N log N).

moto then sorts the candidates by the full key as before, so the answers, their order and their
pages are the same. `install()` patches moto's Table class for this process (the local stack, and the
tests that check it against moto's own answers).
"""
from __future__ import annotations

import functools
import threading
from typing import Any

_local = threading.local()
#: moto's own `Table.query` and `Table.all_items`, as they were before `install()` (the tests compare).
ORIGINAL: dict[str, Any] = {}


def _items(table) -> list:
    """Every item of `table`, unsorted."""
    if table.range_key_attr:
        return [item for bucket in table.items.values() for item in bucket.values()]
    return list(table.items.values())


def _candidates(table, hash_key, index_name, hash_key_conditions) -> list | None:
    """The items a query must consider (a superset of its answer), or None to let moto look at all."""
    if not index_name:
        if hash_key is None:
            return None
        bucket = table.items.get(hash_key)  # .get: Table.items is a defaultdict
        if bucket is None:
            return []
        return list(bucket.values()) if table.range_key_attr else [bucket]
    conditions = dict(hash_key_conditions or ())
    if not conditions:
        return None
    attr, value = next(iter(conditions.items()))
    if value.type not in ("S", "B"):  # a string or bytes key equals by its text; leave numbers to moto
        return None
    out = []
    for item in _items(table):
        have = item.attrs.get(attr)
        if have is not None and have.type == value.type and have.value == value.value:
            out.append(item)
    return _presorted(table, index_name, out)


def _presorted(table, index_name: str, items: list) -> list:
    """`items` in the index's key order as far as their text tells it. moto sorts the candidates again
    with `DynamoType` comparisons (Python calls); Python's sort takes one pass over an ordered list, so
    that costs n comparisons instead of n log n. An order this gets wrong (numbers) moto still fixes."""
    index = next((i for i in table.all_indexes() if i.name == index_name), None)
    names = [k["AttributeName"] for k in index.schema] if index else []
    names += [n for n in (table.hash_key_attr, table.range_key_attr) if n]

    def key(item) -> tuple:
        return tuple(str(getattr(item.attrs.get(n), "value", "")) for n in names)

    items.sort(key=key)
    return items


def _install() -> None:
    from moto.dynamodb.models.table import Table

    ORIGINAL.setdefault("query", Table.query)
    ORIGINAL.setdefault("all_items", Table.all_items)

    def all_items(self) -> list:
        given = getattr(_local, "given", None)
        if given is not None and given[0] is self:
            return given[1]
        return ORIGINAL["all_items"](self)

    def query(self, hash_key, range_comparison, range_objs, limit, exclusive_start_key, scan_index_forward,
              projection_expressions, index_name=None, consistent_read=False, filter_expression=None,
              hash_key_conditions=None, range_key_conditions=None, **filter_kwargs: Any):
        args = (hash_key, range_comparison, range_objs, limit, exclusive_start_key, scan_index_forward,
                projection_expressions, index_name, consistent_read, filter_expression)
        keys = dict(hash_key_conditions=hash_key_conditions, range_key_conditions=range_key_conditions,
                    **filter_kwargs)
        candidates = _candidates(self, hash_key, index_name, hash_key_conditions)
        if candidates is None:
            return ORIGINAL["query"](self, *args, **keys)
        _local.given = (self, candidates)
        try:
            return ORIGINAL["query"](self, *args, **keys)
        finally:
            _local.given = None

    Table.all_items = all_items
    Table.query = query


@functools.cache
def install() -> None:
    """Patch moto once per process; a second call does nothing."""
    _install()
