"""boto3 clients and resources, created once per process; they follow AWS_ENDPOINT_URL (moto locally)."""
from __future__ import annotations

import logging
from functools import lru_cache

import boto3
from botocore.config import Config

from idp.config import get_settings

# botocore's DEBUG lines carry whole request bodies (secret values included): never let them on.
for _name in ("botocore", "boto3", "urllib3"):
    logging.getLogger(_name).setLevel(logging.WARNING)

_CONFIG = Config(retries={"max_attempts": 4, "mode": "standard"}, connect_timeout=3, read_timeout=10)


@lru_cache(maxsize=None)
def client(service: str):
    """A boto3 client for `service`, shared across warm invocations."""
    return boto3.client(service, region_name=get_settings().region, config=_CONFIG)


@lru_cache(maxsize=None)
def table():
    """The directory table (DynamoDB resource API)."""
    resource = boto3.resource("dynamodb", region_name=get_settings().region, config=_CONFIG)
    return resource.Table(get_settings().table_name)


def reset() -> None:
    """Forget cached clients (tests that switch endpoints or environments call this)."""
    client.cache_clear()
    table.cache_clear()
    get_settings.cache_clear()
