"""IAM policy evaluation for the packaged smoke tests: a function's AWS calls are allowed only as its role allows.

The embedded AWS (moto) does not enforce IAM the way the template needs it checked: resource ARNs, DynamoDB's
`dynamodb:LeadingKeys` and SSM parameter paths. This evaluates the subset of the policy language the template
uses, after AWS's documented logic for a single identity-based policy set (no SCPs, boundaries, sessions or
resource policies): an explicit Deny wins, else an Allow whose Action, Resource and Condition all match, else
the request is implicitly denied.
- Action / NotAction, Resource / NotResource: `*` and `?` wildcards; actions case-insensitively.
- Condition: StringEquals, StringNotEquals, StringLike, StringNotLike, ArnEquals, ArnLike, ArnNotEquals,
  ArnNotLike, Bool; the `...IfExists` suffix; the set qualifiers `ForAllValues:` and `ForAnyValue:`. Several
  values for one key are ORed, several keys and operators in one block ANDed. A key missing from the request
  makes a plain operator false, `ForAllValues:` true and `ForAnyValue:` false, as AWS documents.
`authorizations` turns one botocore call into what IAM authorizes for it: the action(s), the resource ARN(s)
and the condition keys, for the DynamoDB, SQS, SSM and Secrets Manager operations the functions make.

It is loaded by the smoke tests' Lambda runner (tests/package/lambda_runtime.py) by path: standard library only.
"""
from __future__ import annotations

import re
from typing import Any

ACCOUNT, REGION, PARTITION = "123456789012", "us-east-1", "aws"


def _list(value: Any) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _like(pattern: str, value: str, case: bool = True) -> bool:
    """IAM's wildcard match: `*` any run of characters (across `/` and `:`), `?` one character."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, 0 if case else re.IGNORECASE) is not None


OPERATORS = {
    "StringEquals": lambda want, have: have == want,
    "StringNotEquals": lambda want, have: have != want,
    "StringLike": lambda want, have: _like(want, have),
    "StringNotLike": lambda want, have: not _like(want, have),
    "ArnEquals": lambda want, have: have == want,
    "ArnLike": lambda want, have: _like(want, have),
    "ArnNotEquals": lambda want, have: have != want,
    "ArnNotLike": lambda want, have: not _like(want, have),
    "Bool": lambda want, have: str(have).lower() == str(want).lower(),
}
NEGATED = {"StringNotEquals", "StringNotLike", "ArnNotEquals", "ArnNotLike"}


def _condition_holds(operator: str, key: str, wanted: list, context: dict[str, Any]) -> bool:
    qualifier, _, op = operator.rpartition(":")
    if_exists = op.endswith("IfExists")
    op = op.removesuffix("IfExists")
    if op not in OPERATORS:
        raise ValueError(f"condition operator {operator} is not evaluated here")
    test = OPERATORS[op]
    present = key in context and context[key] is not None
    values = [str(v) for v in _list(context.get(key))]

    def one(value: str) -> bool:  # the key's value against the listed values: any (or, negated, none) match
        if op in NEGATED:
            return all(test(str(w), value) for w in wanted)
        return any(test(str(w), value) for w in wanted)

    if qualifier == "ForAllValues":
        return all(one(v) for v in values)  # true for a missing or empty key, as AWS documents
    if qualifier == "ForAnyValue":
        return any(one(v) for v in values)
    if not present:
        return if_exists or op in NEGATED
    return all(one(v) for v in values) if len(values) == 1 else any(one(v) for v in values)


def statement_matches(statement: dict, action: str, resource: str, context: dict[str, Any]) -> bool:
    if "Action" in statement:
        if not any(_like(p, action, case=False) for p in _list(statement["Action"])):
            return False
    elif any(_like(p, action, case=False) for p in _list(statement.get("NotAction"))):
        return False
    if "Resource" in statement:
        if not any(_like(p, resource) for p in _list(statement["Resource"])):
            return False
    elif any(_like(p, resource) for p in _list(statement.get("NotResource"))):
        return False
    for operator, keys in (statement.get("Condition") or {}).items():
        for key, wanted in keys.items():
            if not _condition_holds(operator, key, _list(wanted), context):
                return False
    return True


def decide(statements: list[dict], action: str, resource: str, context: dict[str, Any] | None = None) -> str:
    """'Allow', 'ExplicitDeny' or 'ImplicitDeny' for one request."""
    context = context or {}
    matching = [s for s in statements if statement_matches(s, action, resource, context)]
    if any(s.get("Effect") == "Deny" for s in matching):
        return "ExplicitDeny"
    if any(s.get("Effect") == "Allow" for s in matching):
        return "Allow"
    return "ImplicitDeny"


# ---------------------------------------------------------------- one call -> what IAM authorizes
def _table_arn(name: str) -> str:
    return name if name.startswith("arn:") else f"arn:{PARTITION}:dynamodb:{REGION}:{ACCOUNT}:table/{name}"


def _leading(item: dict | None, hash_key: str) -> list[str]:
    value = (item or {}).get(hash_key) or {}
    return [next(iter(value.values()))] if value else []


def _query_leading(params: dict, hash_key: str) -> list[str]:
    """The partition key value a Query names in `hash = :v` of its KeyConditionExpression."""
    names = {k: v for k, v in (params.get("ExpressionAttributeNames") or {}).items()}
    expr = params.get("KeyConditionExpression") or ""
    for left, placeholder in re.findall(r"([#\w]+)\s*=\s*(:\w+)", expr):
        if names.get(left, left) == hash_key:
            value = (params.get("ExpressionAttributeValues") or {}).get(placeholder) or {}
            return [next(iter(value.values()))] if value else []
    return []


def authorizations(service: str, operation: str, params: dict, hash_key: str = "pk") -> list[tuple[str, str, dict]]:
    """(action, resource ARN, condition context) for each authorization one call needs."""
    if service == "dynamodb":
        if operation == "TransactWriteItems":  # authorized item by item, as the action each one is
            out = []
            for entry in params.get("TransactItems", []):
                (kind, op), = entry.items()
                action = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem",
                          "ConditionCheck": "ConditionCheckItem"}[kind]
                lead = _leading(op.get("Item") or op.get("Key"), hash_key)
                out.append((f"dynamodb:{action}", _table_arn(op["TableName"]), {"dynamodb:LeadingKeys": lead}))
            return out
        if operation == "TransactGetItems":
            return [("dynamodb:GetItem", _table_arn(e["Get"]["TableName"]),
                     {"dynamodb:LeadingKeys": _leading(e["Get"].get("Key"), hash_key)}) for e in params.get("TransactItems", [])]
        if operation in ("BatchWriteItem", "BatchGetItem"):
            out = []
            for table, requests in (params.get("RequestItems") or {}).items():
                if operation == "BatchGetItem":
                    keys = [k for k in requests.get("Keys", [])]
                else:
                    keys = [(r.get("PutRequest") or {}).get("Item") or (r.get("DeleteRequest") or {}).get("Key") for r in requests]
                lead = sorted({v for k in keys for v in _leading(k, hash_key)})
                out.append((f"dynamodb:{operation}", _table_arn(table), {"dynamodb:LeadingKeys": lead}))
            return out
        resource = _table_arn(params.get("TableName", ""))
        if params.get("IndexName"):
            resource += f"/index/{params['IndexName']}"
        if operation in ("GetItem", "PutItem", "UpdateItem", "DeleteItem"):
            lead = _leading(params.get("Item") or params.get("Key"), hash_key)
        elif operation == "Query" and not params.get("IndexName"):
            lead = _query_leading(params, hash_key)
        else:
            lead = None  # a scan or an index query names no partition key of the table
        return [(f"dynamodb:{operation}", resource, {} if lead is None else {"dynamodb:LeadingKeys": lead})]
    if service == "sqs":
        url = params.get("QueueUrl", "")
        name = url.rstrip("/").rsplit("/", 1)[-1]
        return [(f"sqs:{operation}", f"arn:{PARTITION}:sqs:{REGION}:{ACCOUNT}:{name}", {})]
    if service == "ssm":
        names = _list(params.get("Name")) + _list(params.get("Names")) + _list(params.get("Path"))
        if operation == "DescribeParameters" or not names:
            return [(f"ssm:{operation}", "*", {})]
        return [(f"ssm:{operation}", f"arn:{PARTITION}:ssm:{REGION}:{ACCOUNT}:parameter/{n.lstrip('/')}", {}) for n in names]
    if service == "secretsmanager":
        secret = params.get("SecretId", "")
        arn = secret if secret.startswith("arn:") else f"arn:{PARTITION}:secretsmanager:{REGION}:{ACCOUNT}:secret:{secret}"
        return [(f"secretsmanager:{operation}", arn, {})]
    return [(f"{service}:{operation}", "*", {})]
