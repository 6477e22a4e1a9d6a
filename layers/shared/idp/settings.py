"""Every environment variable the product reads, as one settings dataclass validated at cold start.

A bad value is an error naming the variable (``Settings.load()`` raises ``SettingsError``), never a
silent default. Only the composition root (``idp.bootstrap``) reads the environment; everything else
is handed the part of the settings it needs.
"""
from __future__ import annotations

import dataclasses
import os
import types
import typing
from typing import Any, Mapping

# Plain dataclasses, not pydantic: importing pydantic and building a model costs ~50-75 ms of every
# cold start (measured with `python -X importtime`; the metadata function's budget is 120 ms in all),
# and the environment is a flat mapping of strings whose few rules fit in this module.
_ALIASES = {"region": ("AWS_REGION", "AWS_DEFAULT_REGION"), "metrics_namespace": ("POWERTOOLS_METRICS_NAMESPACE",)}
AUDIT_DELIVERIES = ("direct", "log")
_TRUE = frozenset({"1", "true", "yes", "on", "t", "y"})
_FALSE = frozenset({"0", "false", "no", "off", "f", "n", ""})


class SettingsError(ValueError):
    """A variable of the environment has a value the product cannot use."""


def Field(default: Any = None, *, gt: float | None = None, ge: float | None = None, le: float | None = None,
          repr: bool = True) -> Any:  # the name pydantic's Field uses
    """A setting with bounds (``gt``/``ge``/``le``) and, for secrets, ``repr=False``."""
    return dataclasses.field(default=default, repr=repr, metadata={"gt": gt, "ge": ge, "le": le})


def _strip_slash(value: str | None) -> str | None:
    return (value or "").rstrip("/") or None


def _coerce(kind: Any, raw: Any) -> Any:
    """``raw`` (a string from the environment, or a value passed in) as ``kind``; ValueError if it is not one."""
    if typing.get_origin(kind) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(kind) if a is not type(None)]
        if raw is None:
            return None
        return _coerce(args[0], raw)
    if kind is bool:
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise ValueError("not a boolean (use true/false or 1/0)")
    if kind is int:
        if isinstance(raw, bool) or (isinstance(raw, float) and not raw.is_integer()):
            raise ValueError("not a whole number")
        try:
            return int(str(raw).strip()) if not isinstance(raw, (int, float)) else int(raw)
        except ValueError:
            raise ValueError("not a whole number") from None
    if kind is float:
        try:
            return float(str(raw).strip()) if not isinstance(raw, (int, float)) else float(raw)
        except ValueError:
            raise ValueError("not a number") from None
    return str(raw)


def _check_bounds(value: Any, meta: Mapping[str, Any]) -> None:
    if value is None:
        return
    if meta.get("gt") is not None and not value > meta["gt"]:
        raise ValueError(f"must be greater than {meta['gt']}")
    if meta.get("ge") is not None and not value >= meta["ge"]:
        raise ValueError(f"must be at least {meta['ge']}")
    if meta.get("le") is not None and not value <= meta["le"]:
        raise ValueError(f"must be at most {meta['le']}")


@dataclasses.dataclass(frozen=True)
class Settings:
    """The product's configuration; field name = environment variable, upper-cased."""

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
    # -- Email (Amazon SES v2): the verified sender identity (the template's MailSender; empty: no email is
    # sent, and each message that would have been is logged and counted as MailSendFailures) and an
    # optional SES configuration set.
    mail_sender: str | None = None
    mail_configuration_set: str | None = None

    # -- IdP session and login (seconds / counts)
    idp_session_lifetime_seconds: int = Field(default=8 * 3600, gt=0)
    idp_session_idle_seconds: int = Field(default=3600, gt=0)
    idp_login_state_seconds: int = Field(default=15 * 60, gt=0)
    # Changing sign-in methods on /account needs the password typed within this many seconds (contract section 7).
    idp_reauth_seconds: int = Field(default=300, ge=0)
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

    # The X-Ray SDK's tracer in the admin, push and reconcile functions (the template's DetailedTracing):
    # a subsegment per DynamoDB, SQS, SSM and SCIM call, for ~110-240 ms of every cold start (measured).
    # Off, `Tracing: Active` still gives each invocation's Lambda segment.
    idp_xray_sdk: bool = False

    # -- SCIM transport and retry policy
    scim_connect_timeout: float = Field(default=5.0, gt=0)
    scim_read_timeout: float = Field(default=30.0, gt=0)
    scim_breaker_threshold: int = Field(default=5, gt=0)
    scim_breaker_cooldown_seconds: float = Field(default=30.0, ge=0)
    scim_breaker_max_cooldown_seconds: float = Field(default=600.0, ge=0)
    scim_breaker_window_seconds: float = Field(default=60.0, gt=0)
    scim_auth_retry_seconds: float = Field(default=60.0, ge=0)
    scim_backoff_base_seconds: float = Field(default=2.0, ge=0)
    scim_backoff_max_seconds: float = Field(default=900.0, ge=0)
    scim_permanent_retry_seconds: float = Field(default=5.0, ge=0)
    events_max_receive_count: int = Field(default=8, gt=0)

    # -- CSV import of users: the job's queue (the template's ImportJobQueue) and its maxReceiveCount (the job's
    # last attempt reports the rows it cannot apply as failed instead of leaving the import running)
    import_queue_url: str = ""
    import_max_receive_count: int = Field(default=5, gt=0)

    # -- the directory: days a username or email a user released (deleted, or changed) stays unusable by another
    # user unless an administrator confirms the reuse (idp.directory.quarantine); 0 turns the quarantine off
    idp_released_name_quarantine_days: int = Field(default=30, ge=0, le=3650)

    # -- audit log (idp.adapters.audit_log): days an event is kept (the template's AuditRetentionDays)
    audit_retention_days: int = Field(default=90, gt=0, le=3650)
    # How the SSO's `sso` events reach the audit log (issue 25 item 5): "direct" (a PutItem inside the request,
    # as every other event) or "log" (one `{"idp_audit": <item>}` line on stdout, which the function's log
    # group's subscription hands to AuditShipFunction, which writes it; idp.adapters.audit_shipping). The
    # template sets "log" on SamlLoginFunction only.
    audit_sso_delivery: str = "direct"
    # The local stack only (never the template): with AUDIT_SSO_DELIVERY=log the lines are appended to this
    # file instead of stdout, and the local stack's shipper delivers them.
    audit_spool_path: str | None = None

    def __post_init__(self) -> None:
        hints = typing.get_type_hints(type(self))
        problems = []
        for f in dataclasses.fields(self):
            raw = getattr(self, f.name)
            if f.name in _EMPTY_IS_NONE and not raw:
                raw = None
            try:
                value = _coerce(hints[f.name], raw)
                _check_bounds(value, f.metadata)
            except ValueError as exc:
                shown = "<hidden>" if not f.repr else repr(raw)[:60]
                problems.append(f"{_variable(f.name)}: {exc} (got {shown})")
                continue
            if f.name == "ssm_prefix":
                value = value.rstrip("/")
            elif f.name == "public_base_url":
                value = _strip_slash(value)
            object.__setattr__(self, f.name, value)
        if self.audit_sso_delivery not in AUDIT_DELIVERIES:
            problems.append(f"AUDIT_SSO_DELIVERY: must be one of {', '.join(AUDIT_DELIVERIES)} "
                            f"(got {str(self.audit_sso_delivery)[:60]!r})")
        if problems:
            raise SettingsError("invalid environment: " + "; ".join(problems))

    def configured_base_url(self) -> str | None:
        """The IdP's configured public base URL: PUBLIC_BASE_URL, else https://<custom domain>; None when only API
        Gateway's own domain serves it (pages then take requestContext.domainName)."""
        return self.public_base_url or (f"https://{self.custom_domain}" if self.custom_domain else None)

    @classmethod
    def fields(cls) -> tuple[str, ...]:
        return tuple(f.name for f in dataclasses.fields(cls))

    @classmethod
    def load(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> "Settings":
        """Read and validate the environment; a bad value raises SettingsError naming the variable."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}  # raw strings (or values passed in): __post_init__ coerces each to its field's type
        for name in cls.fields():
            for var in _ALIASES.get(name, (name.upper(),)):
                if var in environ:
                    values[name] = environ[var]
                    break
        unknown = set(overrides) - set(cls.fields())
        if unknown:
            raise SettingsError(f"unknown setting(s): {', '.join(sorted(unknown))}")
        values.update(overrides)
        return cls(**values)


_EMPTY_IS_NONE = frozenset({"admin_token_secret_arn", "admin_token", "custom_domain", "mail_sender",
                            "mail_configuration_set", "audit_spool_path"})


def _variable(name: str) -> str:
    return _ALIASES.get(name, (name.upper(),))[0]
