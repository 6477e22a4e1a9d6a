"""The admin API's bearer token: ADMIN_TOKEN, else the Secrets Manager secret ADMIN_TOKEN_SECRET_ARN names, read
again once ADMIN_TOKEN_CACHE_SECONDS have passed (a rotated token takes over within that time; powertools' parameters
cache)."""
from __future__ import annotations

from idp.settings import Settings


class AdminToken:
    def __init__(self, settings: Settings):
        self.settings = settings

    def __call__(self) -> str | None:
        s = self.settings
        if s.admin_token:
            return s.admin_token
        if s.admin_token_secret_arn:
            from aws_lambda_powertools.utilities import parameters

            return parameters.get_secret(s.admin_token_secret_arn, max_age=s.admin_token_cache_seconds)
        return None
