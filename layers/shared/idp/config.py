"""Settings read from the environment, once per process."""
from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True)
class Settings:
    table_name: str
    events_queue_url: str
    ssm_prefix: str
    admin_token_secret_arn: str | None
    admin_token: str | None
    public_base_url: str | None
    region: str


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Read the settings from the environment (cached for the life of the process)."""
    return Settings(
        table_name=os.environ.get("TABLE_NAME", "officespace-idp-directory"),
        events_queue_url=os.environ.get("EVENTS_QUEUE_URL", ""),
        ssm_prefix=os.environ.get("SSM_PREFIX", "/officespace-idp").rstrip("/"),
        admin_token_secret_arn=os.environ.get("ADMIN_TOKEN_SECRET_ARN") or None,
        admin_token=os.environ.get("ADMIN_TOKEN") or None,
        public_base_url=(os.environ.get("PUBLIC_BASE_URL") or "").rstrip("/") or None,
        region=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1",
    )
