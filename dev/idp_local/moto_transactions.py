"""TransactWriteItems for the embedded AWS at the cost of the items it touches, not of the table.

moto 5.2.5's `DynamoDBBackend.transact_write_items` deep-copies every table a transaction names
before it starts and puts the copy back when a condition fails: the cost of one transaction grows
with the table (at 10,000 users, every admin change paid for a copy of the whole directory), and
writes landed by others between the copy and the restore were rolled back. This version does what
DynamoDB does, in two phases: check every condition against the current items (nothing written
yet; a failed condition cancels the whole transaction with the same `TransactionCanceledException`
and reasons), then apply the writes. If applying one raises (an invalid update expression), the
items written so far are put back from copies of just those items.

`install()` replaces the method on moto's backend class for this process (the local stack and the
tests that start it); the semantics are DynamoDB's, so moto's in-process mocks keep working too.
"""
from __future__ import annotations

import copy
import functools
from typing import Any


def transact_write_items(self, transact_items: list[dict[str, Any]]) -> None:
    from moto.dynamodb.comparisons import get_filter_expression
    from moto.dynamodb.exceptions import (
        MultipleTransactionsException,
        TooManyTransactionsException,
        TransactionCanceledException,
        TransactWriteSingleOpException,
    )

    if len(transact_items) > 100:
        raise TooManyTransactionsException()
    seen: set[tuple[str, str]] = set()
    reasons: list[tuple[str | None, str | None, Any]] = []
    plan: list[tuple[str, dict, dict]] = []
    for entry in transact_items:
        if len(entry) > 1:
            raise TransactWriteSingleOpException
        op_type, op = next(iter(entry.items()))
        if op_type not in {"ConditionCheck", "Put", "Delete", "Update"}:
            raise ValueError("Unsupported transaction operation")
        table_name = op["TableName"]
        table = self.get_table(table_name)
        if op_type == "Put":
            attrs = op["Item"]
            key = {table.hash_key_attr: attrs[table.hash_key_attr]}
            if table.range_key_attr is not None:
                key[table.range_key_attr] = attrs[table.range_key_attr]
        else:
            key = op["Key"]
        marker = (str(table_name), str(dict(sorted(key.items()))))
        if marker in seen:
            raise MultipleTransactionsException()
        seen.add(marker)
        current = self.get_item(table_name, key)
        condition = op.get("ConditionExpression")
        if condition is not None:
            check = get_filter_expression(condition, op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues"))
            if not check.expr(current):
                old = (current.to_json()["Attributes"]
                       if op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and current else None)
                reasons.append(("ConditionalCheckFailed", "The conditional request failed", old))
                continue
        reasons.append((None, None, None))
        if op_type != "ConditionCheck":
            plan.append((op_type, op, key))
    if any(code is not None for code, _, _ in reasons):
        raise TransactionCanceledException(reasons)

    before = [(op["TableName"], key, copy.deepcopy(self.get_item(op["TableName"], key))) for _, op, key in plan]
    try:
        for op_type, op, key in plan:
            names, values = op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")
            if op_type == "Put":
                self.put_item(op["TableName"], op["Item"], expression_attribute_names=names,
                              expression_attribute_values=values)
            elif op_type == "Delete":
                self.delete_item(op["TableName"], key, expression_attribute_names=names, expression_attribute_values=values)
            else:
                self.update_item(op["TableName"], key, update_expression=op["UpdateExpression"],
                                 expression_attribute_names=names, expression_attribute_values=values)
    except Exception:
        for table_name, key, item in before:  # put back just what this transaction touched
            if item is None:
                self.delete_item(table_name, key)
            else:
                self.put_item(table_name, item.to_json()["Attributes"])
        raise


@functools.cache
def install() -> None:
    """Patch moto once per process; a second call does nothing."""
    from moto.dynamodb.models import DynamoDBBackend

    DynamoDBBackend.transact_write_items = transact_write_items
