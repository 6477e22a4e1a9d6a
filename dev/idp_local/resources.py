"""Create the template's table, queues and secrets in the embedded AWS (moto), or on another AWS-compatible
endpoint (contract section 13) where they may already be: what exists is kept (the secret takes this
stack's admin token)."""
from __future__ import annotations

import json
from dataclasses import dataclass

import boto3

from idp_local.cfn import resolve, resources_of_type


@dataclass
class LocalResources:
    table_name: str
    queue_url: str
    queue_arn: str
    dlq_url: str
    admin_token_secret_arn: str
    visibility_timeout: int
    max_receive_count: int
    batch_size: int
    # the CSV import job's queue (ImportJobFunction's event source): "" when the template has none
    import_queue_url: str = ""
    import_queue_arn: str = ""
    import_max_receive_count: int = 5
    import_batch_size: int = 1


def _queue_attributes(props: dict) -> dict[str, str]:
    names = {
        "FifoQueue": "FifoQueue", "ContentBasedDeduplication": "ContentBasedDeduplication",
        "VisibilityTimeout": "VisibilityTimeout", "MessageRetentionPeriod": "MessageRetentionPeriod",
        "DelaySeconds": "DelaySeconds", "ReceiveMessageWaitTimeSeconds": "ReceiveMessageWaitTimeSeconds",
        "DeduplicationScope": "DeduplicationScope", "FifoThroughputLimit": "FifoThroughputLimit",
    }
    attrs = {}
    for key, attr in names.items():
        if key in props:
            value = props[key]
            attrs[attr] = str(value).lower() if isinstance(value, bool) else str(value)
    return attrs


def create_table(template: dict, logical_id: str = "DirectoryTable", table_name: str | None = None,
                 stack_name: str = "local", region: str = "us-east-1") -> str:
    """Create one table exactly as the template declares it (keys, indexes, TTL); returns its name."""
    props = resolve(template["Resources"][logical_id]["Properties"], {}, {}, stack_name)
    table_name = table_name or props.get("TableName") or f"{stack_name}-{logical_id}"
    ddb = boto3.client("dynamodb", region_name=region)
    kwargs = {
        "TableName": table_name,
        "AttributeDefinitions": props["AttributeDefinitions"],
        "KeySchema": props["KeySchema"],
        "BillingMode": props.get("BillingMode", "PAY_PER_REQUEST"),
    }
    if props.get("GlobalSecondaryIndexes"):
        kwargs["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
    try:
        ddb.create_table(**kwargs)
    except ddb.exceptions.ResourceInUseException:
        return table_name  # already there (another endpoint the stack ran on before): kept as it is
    ddb.get_waiter("table_exists").wait(TableName=table_name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    if props.get("TimeToLiveSpecification"):
        ddb.update_time_to_live(TableName=table_name, TimeToLiveSpecification=props["TimeToLiveSpecification"])
    return table_name


def _event_source(template: dict, function: str) -> dict | None:
    """The SQS event source of a function of the template (its properties), or None."""
    events = (template["Resources"].get(function) or {}).get("Properties", {}).get("Events", {})
    return next((e["Properties"] for e in events.values() if e["Type"] == "SQS"), None)


def create_from_template(template: dict, stack_name: str, admin_token: str, region: str = "us-east-1") -> LocalResources:
    """Create every DynamoDB table, SQS queue and Secrets Manager secret the template declares."""
    sqs = boto3.client("sqs", region_name=region)
    sm = boto3.client("secretsmanager", region_name=region)
    refs: dict[str, str] = {}
    attrs: dict[tuple[str, str], str] = {}

    for name in resources_of_type(template, "AWS::DynamoDB::Table"):
        refs[name] = create_table(template, name, stack_name=stack_name, region=region)

    queues = resources_of_type(template, "AWS::SQS::Queue")
    # Queues with no redrive policy first: the DLQ must exist before the queue that names it.
    for name, res in sorted(queues.items(), key=lambda kv: "RedrivePolicy" in kv[1].get("Properties", {})):
        props = resolve(res.get("Properties", {}), refs, attrs, stack_name)
        queue_name = props.get("QueueName") or f"{stack_name}-{name}" + (".fifo" if props.get("FifoQueue") else "")
        queue_attrs = _queue_attributes(props)
        if "RedrivePolicy" in props:
            queue_attrs["RedrivePolicy"] = json.dumps(props["RedrivePolicy"])
        try:  # the same name and attributes: SQS answers the existing queue's URL
            url = sqs.create_queue(QueueName=queue_name, Attributes=queue_attrs)["QueueUrl"]
        except sqs.exceptions.QueueNameExists:  # there already, with other attributes: kept as it is
            url = sqs.get_queue_url(QueueName=queue_name)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        refs[name] = url
        attrs[(name, "Arn")] = arn
        attrs[(name, "QueueName")] = queue_name

    for name, res in resources_of_type(template, "AWS::SecretsManager::Secret").items():
        props = resolve(res.get("Properties", {}), refs, attrs, stack_name)
        secret_name = props.get("Name") or f"{stack_name}-{name}"
        try:
            refs[name] = sm.create_secret(Name=secret_name, SecretString=admin_token)["ARN"]
        except sm.exceptions.ResourceExistsException:
            refs[name] = sm.put_secret_value(SecretId=secret_name, SecretString=admin_token)["ARN"]

    push = template["Resources"]["ScimPushFunction"]["Properties"]
    sqs_event = next(e["Properties"] for e in push["Events"].values() if e["Type"] == "SQS")
    queue_logical = sqs_event["Queue"]["Fn::GetAtt"][0]
    queue_props = template["Resources"][queue_logical]["Properties"]
    dlq_logical = queue_props["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
    imports = _event_source(template, "ImportJobFunction")
    import_queue = imports["Queue"]["Fn::GetAtt"][0] if imports else None
    return LocalResources(
        import_queue_url=refs.get(import_queue, "") if import_queue else "",
        import_queue_arn=attrs.get((import_queue, "Arn"), "") if import_queue else "",
        import_max_receive_count=int(template["Resources"][import_queue]["Properties"]["RedrivePolicy"]["maxReceiveCount"])
        if import_queue else 5,
        import_batch_size=int(imports.get("BatchSize", 1)) if imports else 1,
        table_name=refs["DirectoryTable"],
        queue_url=refs[queue_logical],
        queue_arn=attrs[(queue_logical, "Arn")],
        dlq_url=refs[dlq_logical],
        admin_token_secret_arn=refs.get("AdminTokenSecret", ""),
        visibility_timeout=int(queue_props.get("VisibilityTimeout", 30)),
        max_receive_count=int(queue_props["RedrivePolicy"]["maxReceiveCount"]),
        batch_size=int(sqs_event.get("BatchSize", 10)),
    )

