"""Every environment variable the product reads, as one pydantic settings model validated at cold start.

A bad value is an error naming the variable (``Settings.load()`` raises ``SettingsError``), never a
silent default. Only the composition root (``idp.bootstrap``) reads the environment; everything else
is handed the part of the settings it needs.
"""
from __future__ import annotations

import os
from typing import Mapping

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

# pydantic-settings would read the environment for us, but importing it costs ~50 ms of every cold
# start (the metadata function's budget is 150 ms in all); the environment is a flat mapping, so
# reading it by field name is a few lines.
_ALIASES = {"region": ("AWS_REGION", "AWS_DEFAULT_REGION"), "metrics_namespace": ("POWERTOOLS_METRICS_NAMESPACE",)}


class SettingsError(ValueError):
    """A variable of the environment has a value the product cannot use."""


def _strip_slash(value: str | None) -> str | None:
    return (value or "").rstrip("/") or None


class Settings(BaseModel):
    """The product's configuration; field name = environment variable, upper-cased."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # -- resources (template.yaml Globals)
    table_name: str = "officespace-idp-directory"
    events_queue_url: str = ""
    dlq_url: str = ""
    ssm_prefix: str = "/officespace-idp"
    admin_token_secret_arn: str | None = None
    admin_token: str | None = Field(default=None, repr=False)
    admin_token_cache_seconds: int = Field(default=300, ge=0)  # how long a warm function keeps the secret's value
    public_base_url: str | None = None
    custom_domain: str | None = None  # the template's DomainName: https://<it> when PUBLIC_BASE_URL is empty
    region: str = "us-east-1"  # AWS_REGION, else AWS_DEFAULT_REGION
    log_level: str = "INFO"
    metrics_namespace: str = "OfficeSpaceIdP"  # POWERTOOLS_METRICS_NAMESPACE

    # -- IdP session and login (seconds / counts)
    idp_session_lifetime_seconds: int = Field(default=8 * 3600, gt=0)
    idp_session_idle_seconds: int = Field(default=3600, gt=0)
    idp_login_state_seconds: int = Field(default=15 * 60, gt=0)
    # Login throttling (idp.signon.policy): failures before progressive delays start, per account from one
    # address or known browser (USER), per account from unknown browsers (ACCOUNT), per address (IP); the
    # longest delay (LOCKOUT); the quiet time after which a counter is forgotten (FAILURE_WINDOW).
    idp_login_user_max_failures: int = Field(default=5, gt=0)
    idp_login_account_max_failures: int = Field(default=20, gt=0)
    idp_login_ip_max_failures: int = Field(default=50, gt=0)
    idp_login_failure_window_seconds: int = Field(default=3600, gt=0)
    idp_login_lockout_seconds: int = Field(default=15 * 60, ge=0)
    # Plain-http local stack on a non-loopback address only: Lax, non-Secure cookies. Never in the template.
    idp_insecure_cookies: bool = False

    # The local stack only (never the template): plain http to loopback, and loopback or private SCIM
    # targets, are allowed (its OfficeSpace stand-in runs on this machine).
    idp_allow_local_targets: bool = False

    # -- SCIM transport and retry policy
    scim_connect_timeout: float = Field(default=5.0, gt=0)
    scim_read_timeout: float = Field(default=30.0, gt=0)
    scim_breaker_threshold: int = Field(default=5, gt=0)
    scim_breaker_cooldown_seconds: float = Field(default=30.0, ge=0)
    scim_breaker_max_cooldown_seconds: float = Field(default=600.0, ge=0)
    scim_auth_retry_seconds: float = Field(default=60.0, ge=0)
    scim_backoff_base_seconds: float = Field(default=2.0, ge=0)
    scim_backoff_max_seconds: float = Field(default=900.0, ge=0)
    scim_permanent_retry_seconds: float = Field(default=5.0, ge=0)
    events_max_receive_count: int = Field(default=8, gt=0)

    # -- audit log (idp.adapters.audit_log): days an event is kept (the template's AuditRetentionDays)
    audit_retention_days: int = Field(default=90, gt=0, le=3650)

    @field_validator("ssm_prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        return value.rstrip("/")

    @field_validator("public_base_url", mode="before")
    @classmethod
    def _base_url(cls, value):
        return _strip_slash(value) if isinstance(value, str) else value

    @field_validator("admin_token_secret_arn", "admin_token", "custom_domain", mode="before")
    @classmethod
    def _empty_is_none(cls, value):
        return value or None

    @classmethod
    def load(cls, environ: Mapping[str, str] | None = None, **overrides) -> "Settings":
        """Read and validate the environment; a bad value raises SettingsError naming the variable."""
        environ = os.environ if environ is None else environ
        values: dict = {}
        for name in cls.model_fields:
            for var in _ALIASES.get(name, (name.upper(),)):
                if var in environ:
                    values[name] = environ[var]
                    break
        values.update(overrides)
        try:
            return cls(**values)
        except ValidationError as exc:
            problems = "; ".join(f"{_variable(err['loc'])}: {err['msg']} (got {err.get('input')!r:.60})" for err in exc.errors())
            raise SettingsError(f"invalid environment: {problems}") from None


def _variable(loc: tuple) -> str:
    name = str(loc[0]) if loc else "?"
    return _ALIASES.get(name, (name.upper(),))[0]
