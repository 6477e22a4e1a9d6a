"""The policy evaluator the packaged smoke tests enforce roles with (tests/package/iam_policy.py), checked against
the rules and examples of AWS's IAM documentation ("Policy evaluation logic", "Condition operators",
"Single-valued vs. multivalued context keys", and DynamoDB's "Using IAM policy conditions for fine-grained access
control")."""
from __future__ import annotations

import importlib.util
from pathlib import Path

_spec = importlib.util.spec_from_file_location("iam_policy", Path(__file__).with_name("iam_policy.py"))
iam = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(iam)

TABLE = "arn:aws:dynamodb:us-west-2:123456789012:table/GameScores"


def test_an_explicit_deny_overrides_any_allow_and_nothing_allowed_is_denied():
    statements = [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
                  {"Effect": "Deny", "Action": "s3:DeleteBucket", "Resource": "arn:aws:s3:::prod-*"}]
    assert iam.decide(statements, "s3:GetObject", "arn:aws:s3:::prod-logs/a") == "Allow"
    assert iam.decide(statements, "s3:DeleteBucket", "arn:aws:s3:::prod-logs") == "ExplicitDeny"
    assert iam.decide(statements, "s3:DeleteBucket", "arn:aws:s3:::dev-logs") == "Allow"
    assert iam.decide(statements, "sqs:SendMessage", "arn:aws:sqs:us-east-1:123456789012:q") == "ImplicitDeny"
    assert iam.decide([], "s3:GetObject", "*") == "ImplicitDeny"


def test_actions_match_case_insensitively_with_wildcards_and_notaction_excludes():
    statements = [{"Effect": "Allow", "Action": ["dynamodb:Get*", "sqs:SendMessage*"], "Resource": "*"},
                  {"Effect": "Allow", "NotAction": "iam:*", "Resource": "arn:aws:s3:::bucket/*"}]
    assert iam.decide(statements, "DynamoDB:getitem", TABLE) == "Allow"
    assert iam.decide(statements, "sqs:SendMessageBatch", "*") == "Allow"
    assert iam.decide(statements, "dynamodb:PutItem", TABLE) == "ImplicitDeny"
    assert iam.decide(statements, "s3:GetObject", "arn:aws:s3:::bucket/key") == "Allow"
    assert iam.decide(statements, "iam:CreateUser", "arn:aws:s3:::bucket/key") == "ImplicitDeny"
    assert iam.decide(statements, "s3:ListBucket", "arn:aws:s3:::bucket") == "ImplicitDeny"  # bucket/* is not the bucket


def test_resources_match_wildcards_across_path_segments_and_notresource_excludes():
    statements = [{"Effect": "Allow", "Action": "ssm:GetParameter*",
                   "Resource": "arn:aws:ssm:us-east-1:123456789012:parameter/stack/apps/*"},
                  {"Effect": "Allow", "Action": "dynamodb:Query", "NotResource": f"{TABLE}/index/secret"}]
    assert iam.decide(statements, "ssm:GetParameter",
                      "arn:aws:ssm:us-east-1:123456789012:parameter/stack/apps/a/signing-keys/k1") == "Allow"
    assert iam.decide(statements, "ssm:GetParameter",
                      "arn:aws:ssm:us-east-1:123456789012:parameter/stack/admin") == "ImplicitDeny"
    assert iam.decide(statements, "dynamodb:Query", f"{TABLE}/index/by-user") == "Allow"
    assert iam.decide(statements, "dynamodb:Query", f"{TABLE}/index/secret") == "ImplicitDeny"


def test_dynamodb_leading_keys_for_all_values():
    """DynamoDB's documented example: a user reads and writes only items whose partition key is their id
    (ForAllValues:StringEquals on dynamodb:LeadingKeys)."""
    statements = [{"Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:BatchWriteItem", "dynamodb:PutItem"],
                   "Resource": TABLE,
                   "Condition": {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": ["user-1"]}}}]
    assert iam.decide(statements, "dynamodb:GetItem", TABLE, {"dynamodb:LeadingKeys": ["user-1"]}) == "Allow"
    assert iam.decide(statements, "dynamodb:GetItem", TABLE, {"dynamodb:LeadingKeys": ["user-2"]}) == "ImplicitDeny"
    # A batch is allowed only when every item's partition key is allowed.
    assert iam.decide(statements, "dynamodb:BatchWriteItem", TABLE,
                      {"dynamodb:LeadingKeys": ["user-1", "user-2"]}) == "ImplicitDeny"
    # ForAllValues is true for a request without the key at all (AWS's documented pitfall), ForAnyValue false.
    assert iam.decide(statements, "dynamodb:PutItem", TABLE, {}) == "Allow"
    any_value = [{**statements[0], "Condition": {"ForAnyValue:StringEquals": {"dynamodb:LeadingKeys": ["user-1"]}}}]
    assert iam.decide(any_value, "dynamodb:PutItem", TABLE, {}) == "ImplicitDeny"
    assert iam.decide(any_value, "dynamodb:BatchWriteItem", TABLE, {"dynamodb:LeadingKeys": ["user-2", "user-1"]}) == "Allow"


def test_string_like_prefixes_as_the_login_role_uses_them():
    statements = [{"Effect": "Allow", "Action": "dynamodb:BatchWriteItem", "Resource": TABLE,
                   "Condition": {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["SESSION#*", "AUDIT#*"]}}}]
    allowed = {"dynamodb:LeadingKeys": ["SESSION#abc", "AUDIT#2026-12-06"]}
    assert iam.decide(statements, "dynamodb:BatchWriteItem", TABLE, allowed) == "Allow"
    assert iam.decide(statements, "dynamodb:BatchWriteItem", TABLE,
                      {"dynamodb:LeadingKeys": ["SESSION#abc", "USER#u1"]}) == "ImplicitDeny"


def test_single_valued_operators_missing_keys_and_if_exists():
    """A plain operator on a key the request lacks is false; with ...IfExists it is true; a negated operator on a
    missing key is true. Several values for one key are ORed; several keys are ANDed."""
    base = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}
    equals = [{**base, "Condition": {"StringEquals": {"aws:PrincipalTag/team": ["blue", "green"]}}}]
    assert iam.decide(equals, "s3:GetObject", "x", {"aws:PrincipalTag/team": "green"}) == "Allow"
    assert iam.decide(equals, "s3:GetObject", "x", {"aws:PrincipalTag/team": "red"}) == "ImplicitDeny"
    assert iam.decide(equals, "s3:GetObject", "x", {}) == "ImplicitDeny"
    if_exists = [{**base, "Condition": {"StringEqualsIfExists": {"aws:PrincipalTag/team": "blue"}}}]
    assert iam.decide(if_exists, "s3:GetObject", "x", {}) == "Allow"
    assert iam.decide(if_exists, "s3:GetObject", "x", {"aws:PrincipalTag/team": "red"}) == "ImplicitDeny"
    negated = [{**base, "Condition": {"StringNotEquals": {"aws:PrincipalTag/team": "red"}}}]
    assert iam.decide(negated, "s3:GetObject", "x", {}) == "Allow"
    assert iam.decide(negated, "s3:GetObject", "x", {"aws:PrincipalTag/team": "red"}) == "ImplicitDeny"
    both = [{**base, "Condition": {"StringEquals": {"aws:PrincipalTag/team": "blue"}, "Bool": {"aws:SecureTransport": "true"}}}]
    assert iam.decide(both, "s3:GetObject", "x", {"aws:PrincipalTag/team": "blue", "aws:SecureTransport": True}) == "Allow"
    assert iam.decide(both, "s3:GetObject", "x", {"aws:PrincipalTag/team": "blue", "aws:SecureTransport": False}) == "ImplicitDeny"


def test_one_call_is_authorized_as_aws_authorizes_it():
    q = "https://sqs.us-east-1.amazonaws.com/123456789012/events.fifo"
    assert iam.authorizations("sqs", "SendMessageBatch", {"QueueUrl": q}) == [
        ("sqs:SendMessageBatch", "arn:aws:sqs:us-east-1:123456789012:events.fifo", {})]
    assert iam.authorizations("ssm", "GetParameter", {"Name": "/stack/apps/a/scim-token"}) == [
        ("ssm:GetParameter", "arn:aws:ssm:us-east-1:123456789012:parameter/stack/apps/a/scim-token", {})]
    batch = iam.authorizations("dynamodb", "BatchWriteItem", {"RequestItems": {"t": [
        {"PutRequest": {"Item": {"pk": {"S": "SESSION#1"}, "sk": {"S": "S"}}}},
        {"DeleteRequest": {"Key": {"pk": {"S": "AUDIT#d"}, "sk": {"S": "x"}}}}]}})
    assert batch == [("dynamodb:BatchWriteItem", "arn:aws:dynamodb:us-east-1:123456789012:table/t",
                      {"dynamodb:LeadingKeys": ["AUDIT#d", "SESSION#1"]})]
    # A transaction is authorized item by item, as the action each item is.
    assert [a for a, _, _ in iam.authorizations("dynamodb", "TransactWriteItems", {"TransactItems": [
        {"Put": {"TableName": "t", "Item": {"pk": {"S": "A"}}}},
        {"ConditionCheck": {"TableName": "t", "Key": {"pk": {"S": "B"}}}}]})] == ["dynamodb:PutItem",
                                                                                   "dynamodb:ConditionCheckItem"]
    query = iam.authorizations("dynamodb", "Query", {"TableName": "t", "KeyConditionExpression": "#p = :v AND begins_with(sk, :s)",
                                                     "ExpressionAttributeNames": {"#p": "pk"},
                                                     "ExpressionAttributeValues": {":v": {"S": "USER#1"}, ":s": {"S": "G"}}})
    assert query == [("dynamodb:Query", "arn:aws:dynamodb:us-east-1:123456789012:table/t", {"dynamodb:LeadingKeys": ["USER#1"]})]
    index = iam.authorizations("dynamodb", "Query", {"TableName": "t", "IndexName": "gsi1"})
    assert index[0][1].endswith("table/t/index/gsi1")
