"""Log in (contract section 3), the use case behind POST /login and POST /login/passkey: run the login flow
(`idp.signon`: password, the second step, or a verified passkey) and, once signed in, resume what the login was
for: the SSO answer (`idp.app.sso.SingleSignOn.resume`), else the portal or the console page it came from. It owns
the read scope of the whole answer (the form's pending login, the user, the throttles, then the app: two batches)
and writes the login's audit events and the SSO's together when it ends."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from idp.app.browser import Client
from idp.app.sso import ReadScope, SingleSignOn, SsoAnswer
from idp.kernel.audit import AuditSink
from idp.signon.login import LoggedIn, LoginSubmission, Outcome, PasswordConfirmed, Refused, ShowForm


@dataclass(frozen=True)
class Resumed:
    """Signed in: the new session (`logged_in`), and the SSO answer the login was for (`answer`), or the path it
    goes back to (`path`: the portal, or a console page)."""

    logged_in: LoggedIn
    answer: SsoAnswer | None
    path: str | None


SignInAnswer = ShowForm | Refused | Resumed


class SignInSignon(Protocol):
    """The sign-on service (idp.signon.service.SignOn) as logging in uses it."""

    def login(self, submission: LoginSubmission, *, user_agent: str | None = None) -> Outcome: ...

    def passkey_login(self, submission: LoginSubmission, uid: str, amr: Sequence[str], *,
                      user_agent: str | None = None) -> Outcome: ...


class SignIn:
    def __init__(self, signon: SignInSignon, sso: SingleSignOn, audit: AuditSink, *, login_reads: ReadScope):
        self.signon, self.sso, self.audit, self.login_reads = signon, sso, audit, login_reads

    def with_password(self, submission: LoginSubmission, *, client: Client, base_url: str) -> SignInAnswer:
        """POST /login: the password (and the second step's code, when the form asks for it)."""
        with self.login_reads(submission.login_id, submission.username, submission.client), self.audit.batched():
            outcome = self.signon.login(submission, user_agent=client.user_agent)
            return self._resume(outcome, client, base_url)

    def with_passkey(self, submission: LoginSubmission, uid: str, amr: Sequence[str], *, client: Client,
                     base_url: str) -> SignInAnswer:
        """POST /login/passkey: a passkey the route verified for `uid`."""
        outcome = self.signon.passkey_login(submission, uid, amr, user_agent=client.user_agent)
        return self._resume(outcome, client, base_url)

    def _resume(self, outcome: Outcome, client: Client, base_url: str) -> SignInAnswer:
        if isinstance(outcome, (ShowForm, Refused)):
            return outcome
        assert not isinstance(outcome, PasswordConfirmed)  # only the account page's password check answers that
        slug = outcome.pending.slug
        if not slug:
            return Resumed(outcome, None, outcome.pending.resume_path)
        return Resumed(outcome, self.sso.resume(slug, outcome.signed_in, outcome.pending, base_url=base_url,
                                                client=client), None)
