"""boto3 clients and the table resource of one process; they follow AWS_ENDPOINT_URL (moto locally)."""
from __future__ import annotations

import logging
import threading

import boto3
from botocore.config import Config

# botocore's DEBUG lines carry whole request bodies (secret values included): never let them on.
for _name in ("botocore", "boto3", "urllib3"):
    logging.getLogger(_name).setLevel(logging.WARNING)

_CONFIG = Config(retries={"max_attempts": 4, "mode": "standard"}, connect_timeout=3, read_timeout=10)


class AwsClients:
    """One boto3 client per service and one table resource per name, shared across warm invocations."""

    def __init__(self, region: str):
        self.region = region
        self._lock = threading.Lock()
        self._clients: dict[str, object] = {}
        self._tables: dict[str, object] = {}

    def client(self, service: str):
        with self._lock:  # boto3's session is not thread-safe while it creates clients
            if service not in self._clients:
                self._clients[service] = boto3.client(service, region_name=self.region, config=_CONFIG)
            return self._clients[service]

    def table(self, name: str):
        """The DynamoDB table `name` (resource API)."""
        with self._lock:
            if name not in self._tables:
                resource = boto3.resource("dynamodb", region_name=self.region, config=_CONFIG)
                self._tables[name] = resource.Table(name)
            return self._tables[name]
