"""Keys and the item codec shared by the provisioning stores: DynamoDB numbers back to int/float,
the mapping item's sort key, the JSON of the pushed state, and the conditional-check test."""
from __future__ import annotations

import json
from decimal import Decimal

from botocore.exceptions import ClientError

from idp.adapters.dynamo import from_ddb

BATCH_SIZE = 25  # BatchWriteItem's limit


def number(value: float) -> Decimal:
    """Epoch seconds as DynamoDB stores them here (to the millisecond)."""
    return Decimal(str(round(value, 3)))


def app_pk(slug: str) -> str:
    return f"APP#{slug}"


def kind_sk(kind: str, eid: str) -> str:
    assert kind in ("USER", "GROUP"), kind
    return f"SCIM#{kind}#{eid}"


def map_key(slug: str, kind: str, eid: str) -> dict:
    return {"pk": app_pk(slug), "sk": kind_sk(kind, eid)}


def encode_pushed(pushed: dict) -> str:
    return json.dumps(pushed, sort_keys=True, default=str)


def decode_map(item: dict) -> dict:
    """A mapping item as the engine reads it: plain numbers, `pushed` as a dict, `members` as a set."""
    item = from_ddb(item)
    if isinstance(item.get("pushed"), str):
        try:
            item["pushed"] = json.loads(item["pushed"])
        except ValueError:
            item["pushed"] = None
    if "members" in item:
        item["members"] = set(item["members"])
    return item


def condition_failed(exc: ClientError) -> bool:
    return exc.response["Error"]["Code"] == "ConditionalCheckFailedException"
