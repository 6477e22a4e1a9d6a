"""The global MFA policy as PUT /admin/mfa (and the console's Settings) take it, validated: ``off`` /
``optional`` / ``required``, grace days 0..365, at least one of the methods, each once; a field left out
takes its default. Only who validates a body imports it (pydantic stays out of the login's cold start)."""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from idp.signon.mfa.policy import DEFAULT_GRACE_DAYS, METHODS, Method


class MfaPolicySettings(BaseModel):
    """The global policy as PUT /admin/mfa takes it (a field left out takes its default)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    policy: Literal["off", "optional", "required"] = "off"
    grace_days: int = Field(default=DEFAULT_GRACE_DAYS, ge=0, le=365)
    methods: list[Method] = Field(default_factory=lambda: list(METHODS), min_length=1)

    @field_validator("methods")
    @classmethod
    def _unique(cls, value):
        if len(set(value)) != len(value):
            raise ValueError("each method at most once")
        return value
