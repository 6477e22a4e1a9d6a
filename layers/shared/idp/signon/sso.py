"""The decisions of the SSO URL, pure: whether a request is answered from the live session, with
NoPassive, or after a login; and where an answer may go (the ACS URL must still be registered)."""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from idp.signon.models import PendingSignOn


class Step(str, Enum):
    ISSUE = "issue"  # answer from the live session
    NO_PASSIVE = "no_passive"  # IsPassive and a login would be needed: Responder/NoPassive
    LOGIN = "login"  # to the login page, then resume


def next_step(*, signed_in: bool, force_authn: bool = False, is_passive: bool = False) -> Step:
    """IsPassive never shows a login form; ForceAuthn never reuses the session."""
    if is_passive and (not signed_in or force_authn):
        return Step.NO_PASSIVE
    if signed_in and not force_authn:
        return Step.ISSUE
    return Step.LOGIN


@dataclass(frozen=True)
class Grant:
    """Where and how to answer: a registered ACS URL, the RelayState to return, the request answered."""

    acs_url: str
    relay_state: str | None
    in_response_to: str | None


@dataclass(frozen=True)
class Denied:
    """Why no answer is sent: ``user_suspended``, ``access_denied`` or ``acs_not_registered``."""

    code: str
    cause: str | None = None


def answer_to(app: dict, pending: PendingSignOn) -> Grant | Denied:
    """SP-initiated: the request's (checked) ACS URL, if the app still registers it; IdP-initiated: the
    first registered ACS URL and the app's default RelayState."""
    acs_urls = app.get("acs_urls") or []
    if pending.sp_initiated:
        acs, relay_state, in_response_to = pending.acs_url, pending.relay_state, pending.request_id
    else:
        acs, relay_state, in_response_to = (acs_urls[0] if acs_urls else None), (app.get("default_relay_state") or None), None
    if not acs or acs not in acs_urls:  # the app changed since the request was checked
        return Denied("acs_not_registered")
    return Grant(acs, relay_state, in_response_to)
