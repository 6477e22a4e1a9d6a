"""What sign-on records in the audit log (idp.kernel.audit), pure: the password step of a login
(``login`` success, or failure with ``missing_credentials``, ``unknown_user``, ``wrong_password``,
``locked_out``, ``suspended``, ``csrf_failed``), the ``lockout`` a failure starts, and ``logout`` (the
portal's button, or an SP's LogoutRequest: ``slo``). The second factor's ``mfa`` events are the MFA
stage's own. Never a password or a code: only who, from where, and the reason code."""
from __future__ import annotations

from idp.kernel.audit import Actor, AuditEvent

_FAILURES = {"missing_credentials": "missing_credentials", "throttled": "locked_out"}
_REFUSALS = {"user_suspended": "suspended", "csrf_failed": "csrf_failed"}


def login_events(outcome, *, account_uid: str | None, password_checked: bool, app: str | None, ip: str | None,
                 user_agent: str | None, method: str | None = None) -> list[AuditEvent]:
    """The events of one run of the login flow (``outcome`` is a ShowForm, Refused or LoggedIn); ``method``: how a
    sign-in without a password was made (``webauthn``: a passkey alone), in a success's detail."""
    from idp.signon.login import LoggedIn, Refused, ShowForm

    def event(type_: str, outcome_: str = "success", reason: str | None = None, **detail) -> AuditEvent:
        actor = Actor("user", account_uid) if account_uid else Actor("user")
        return AuditEvent(type_, outcome_, actor, user_id=account_uid, app=app, ip=ip, user_agent=user_agent,
                          reason=reason, detail=detail)

    if isinstance(outcome, Refused):
        return [event("login", "failure", _REFUSALS.get(outcome.code, outcome.code))]
    if isinstance(outcome, ShowForm):
        if outcome.reason == "wrong_credentials":
            events = [event("login", "failure", "wrong_password" if account_uid else "unknown_user")]
            if outcome.retry_after:
                events.append(event("lockout", "failure", "too_many_failures", retry_after=outcome.retry_after))
            return events
        if outcome.reason in _FAILURES:
            return [event("login", "failure", _FAILURES[outcome.reason], retry_after=outcome.retry_after or None)]
        # past the password, the second step's form (the MFA stage records its own events)
        return [event("login", next_step=outcome.reason)] if password_checked else []
    if isinstance(outcome, LoggedIn):
        return [event("login", **({"method": method} if method else {}))] if password_checked else []
    return []


def logout_event(uid: str | None, *, app: str | None = None, slo: bool = False, reason: str | None = None,
                 ip: str | None = None, user_agent: str | None = None) -> AuditEvent:
    """A sign-out: ended (success), or an SP's LogoutRequest that ended nothing (failure, ``reason``)."""
    return AuditEvent("logout", "failure" if reason else "success", Actor("user", uid) if uid else Actor("user"),
                      user_id=uid, app=app, ip=ip, user_agent=user_agent, reason=reason,
                      detail={"slo": True} if slo else {})
