"""The settings model: every variable the product reads, validated once; a bad value names the variable."""
from __future__ import annotations

import pytest

from idp import bootstrap
from idp.settings import Settings, SettingsError


def test_defaults_are_the_documented_ones(monkeypatch):
    for var in ("TABLE_NAME", "EVENTS_MAX_RECEIVE_COUNT", "SSM_PREFIX", "PUBLIC_BASE_URL", "SCIM_AUTH_RETRY_SECONDS"):
        monkeypatch.delenv(var, raising=False)
    s = Settings.load()
    assert s.table_name == "officespace-idp-directory"
    assert s.events_max_receive_count == 8  # template.yaml's maxReceiveCount
    assert s.ssm_prefix == "/officespace-idp"
    assert s.public_base_url is None
    assert s.scim_auth_retry_seconds == 60.0


def test_values_are_read_and_normalised(monkeypatch):
    monkeypatch.setenv("SSM_PREFIX", "/stack/")
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://idp.example.com/")
    monkeypatch.setenv("IDP_SESSION_IDLE_SECONDS", "120")
    monkeypatch.setenv("IDP_INSECURE_COOKIES", "1")
    monkeypatch.setenv("ADMIN_TOKEN", "")
    s = Settings.load()
    assert s.ssm_prefix == "/stack" and s.public_base_url == "https://idp.example.com"
    assert s.idp_session_idle_seconds == 120 and s.idp_insecure_cookies is True
    assert s.admin_token is None  # an empty variable is "not set"


@pytest.mark.parametrize("var, value", [
    ("SCIM_BREAKER_THRESHOLD", "five"),
    ("IDP_SESSION_LIFETIME_SECONDS", "0"),
    ("SCIM_READ_TIMEOUT", "-1"),
    ("EVENTS_MAX_RECEIVE_COUNT", "3.5"),
    ("IDP_INSECURE_COOKIES", "maybe"),
    ("AUDIT_SSO_DELIVERY", "stdout"),
])
def test_a_bad_value_is_an_error_naming_the_variable(monkeypatch, var, value):
    monkeypatch.setenv(var, value)
    with pytest.raises(SettingsError, match=var):
        Settings.load()


def test_the_container_fails_at_first_use_not_later(monkeypatch):
    monkeypatch.setenv("SCIM_BREAKER_THRESHOLD", "lots")
    bootstrap.reset()
    try:
        with pytest.raises(SettingsError, match="SCIM_BREAKER_THRESHOLD"):
            bootstrap.container()
    finally:
        bootstrap.reset()


def test_the_admin_token_never_shows_in_the_settings_repr(monkeypatch):
    monkeypatch.setenv("ADMIN_TOKEN", "s3cret-admin-token-value")
    assert "s3cret-admin-token-value" not in repr(Settings.load())


def test_parts_are_built_once_and_can_be_replaced(monkeypatch):
    sentinel = object()
    parts = bootstrap.Container(Settings.load(), store=sentinel)
    assert parts.store is sentinel
    assert parts.breaker is parts.breaker  # built once
    assert parts.breaker.threshold == Settings.load().scim_breaker_threshold
