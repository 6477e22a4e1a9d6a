"""Whether the directory table can be read right now (GET /healthz, contract section 13): one GetItem of a
key nothing writes, on a client of its own with short timeouts and no retries, so a health check answers
within about 3 s whatever AWS is doing."""
from __future__ import annotations

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

_CONFIG = Config(retries={"max_attempts": 1, "mode": "standard"}, connect_timeout=1, read_timeout=2)
PROBE_KEY = {"pk": {"S": "HEALTH#PROBE"}, "sk": {"S": "HEALTH#PROBE"}}


class TableProbe:
    def __init__(self, table_name: str, region: str):
        self.table_name = table_name
        self.client = boto3.client("dynamodb", region_name=region, config=_CONFIG)

    def problem(self) -> str | None:
        """None while the table answers a read, else what is wrong (no detail of the request)."""
        try:
            self.client.get_item(TableName=self.table_name, Key=PROBE_KEY)
        except ClientError as exc:
            return f"the directory table cannot be read: {exc.response.get('Error', {}).get('Code', 'error')}"
        except BotoCoreError as exc:
            return f"the directory table cannot be read: {type(exc).__name__}"
        return None
