"""The request read scope (idp.adapters.read_scope) against moto's DynamoDB: one BatchGetItem for
what a request will read, each later single-item read answered from it, and nothing cached outside
a scope or across scopes (access checks stay fresh from one request to the next)."""
from __future__ import annotations

import pytest
from moto import mock_aws

from idp.adapters.read_scope import get_item, prefetch, request_reads
from idp_testing.aws import create_table


@pytest.fixture
def table():
    with mock_aws():
        yield create_table("read-scope-test")


class Counting:
    """The table with its GetItem calls counted (the resource API, as the stores use it)."""

    def __init__(self, table):
        self.inner, self.gets = table, 0
        self.meta, self.name = table.meta, table.name

    def get_item(self, **kwargs):
        self.gets += 1
        return self.inner.get_item(**kwargs)


def test_prefetched_items_are_read_once_and_missing_ones_are_remembered(table):
    for i in range(3):
        table.put_item(Item={"pk": f"USER#{i}", "sk": "PROFILE", "n": i})
    t = Counting(table)
    keys = [{"pk": f"USER#{i}", "sk": "PROFILE"} for i in range(4)]  # USER#3 does not exist
    with request_reads():
        assert prefetch(t, keys + keys[:1]) == 1
        assert [get_item(t, k) and int(get_item(t, k)["n"]) for k in keys[:3]] == [0, 1, 2]
        assert get_item(t, keys[3]) is None
        assert t.gets == 0
        assert prefetch(t, keys) == 0  # all held already
        assert get_item(t, {"pk": "USER#0", "sk": "OTHER"}) is None and t.gets == 1  # not prefetched: one GetItem
        assert get_item(t, {"pk": "USER#0", "sk": "OTHER"}) is None and t.gets == 1  # then held


def test_no_caching_outside_or_across_scopes(table):
    table.put_item(Item={"pk": "USER#1", "sk": "PROFILE", "state": "ACTIVE"})
    t = Counting(table)
    key = {"pk": "USER#1", "sk": "PROFILE"}
    assert prefetch(t, [key]) == 0  # outside a scope: nothing to fill
    get_item(t, key)
    get_item(t, key)
    assert t.gets == 2
    with request_reads():
        prefetch(t, [key])
        assert get_item(t, key)["state"] == "ACTIVE"
    table.update_item(Key=key, UpdateExpression="SET #s = :s", ExpressionAttributeNames={"#s": "state"},
                      ExpressionAttributeValues={":s": "SUSPENDED"})
    with request_reads():  # the next request sees the suspension
        prefetch(t, [key])
        assert get_item(t, key)["state"] == "SUSPENDED"


def test_more_keys_than_one_batch_takes_several_calls(table):
    with table.batch_writer() as w:
        for i in range(130):
            w.put_item(Item={"pk": f"K#{i}", "sk": "X"})
    with request_reads():
        calls = prefetch(table, [{"pk": f"K#{i}", "sk": "X"} for i in range(130)])
        assert calls == 2
        assert all(get_item(table, {"pk": f"K#{i}", "sk": "X"}) for i in range(130))


def test_the_resource_client_takes_and_gives_python_values(table):
    table.put_item(Item={"pk": "A", "sk": "B", "items": ["x", "y"], "n": 5})
    with request_reads():
        prefetch(table, [{"pk": "A", "sk": "B"}])
        item = get_item(table, {"pk": "A", "sk": "B"})
    assert item["items"] == ["x", "y"] and int(item["n"]) == 5


def test_a_written_item_is_forgotten_and_read_again(table):
    from idp.adapters.read_scope import forget

    key = {"pk": "THROTTLE#ip#1", "sk": "THROTTLE"}
    table.put_item(Item={**key, "failures": 1})
    t = Counting(table)
    with request_reads():
        prefetch(t, [key])
        assert int(get_item(t, key)["failures"]) == 1
        table.put_item(Item={**key, "failures": 2})
        forget(key)
        assert int(get_item(t, key)["failures"]) == 2 and t.gets == 1
    forget(key)  # outside a scope: nothing to drop
