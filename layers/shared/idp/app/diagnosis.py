"""Sign-in diagnosis (contract section 8), the use case behind GET /admin/apps/{slug}/users/{user_id}/diagnosis and
the console's "Diagnose" on a user's page: whether the user can sign in to the app now and every reason not
(`idp.kernel.diagnosis` decides), how access is granted (`idp.app.user_access`), the last SSO attempt from the
audit log, and the user's provisioning state in the SP. The facts are read here, across the contexts."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from idp.app.ports import AuditReader
from idp.app.user_access import UserAccess
from idp.kernel.audit_log import AuditQuery
from idp.kernel.diagnosis import SignInFacts, provisioning_view, reasons
from idp.kernel.errors import not_found


@dataclass(frozen=True)
class Diagnosis:
    reasons: tuple[str, ...]  # empty: the user can sign in
    direct: bool
    groups: tuple[str, ...]
    last_sso: dict[str, Any] | None
    provisioning: dict[str, object]

    @property
    def can_sign_in(self) -> bool:
        return not self.reasons

    def as_json(self) -> dict[str, Any]:
        return {"can_sign_in": self.can_sign_in, "reasons": list(self.reasons),
                "access": {"direct": self.direct, "groups": list(self.groups)},
                "last_sso": self.last_sso, "provisioning": self.provisioning}


class DiagnosisReads(Protocol):
    def get_app(self, slug: str) -> dict[str, Any] | None: ...

    def get_user(self, uid: str) -> dict[str, Any] | None: ...


class ProvisioningReads(Protocol):
    def get_map(self, slug: str, kind: str, eid: str) -> dict[str, Any] | None: ...

    def read_log(self, slug: str, *, user_id: str | None = None, group_id: str | None = None,
                 limit: int = 50) -> list[dict[str, Any]]: ...


class SignInDiagnosis:
    def __init__(self, directory: DiagnosisReads, access: UserAccess, audit: AuditReader,
                 provisioning: ProvisioningReads, *, locked_for: Callable[[str], int],
                 mfa_need: Callable[[dict[str, Any], str], str]):
        """`locked_for(uid)`: seconds the login throttle still holds the account back; `mfa_need(user, slug)`: what
        the MFA policy asks of the user for an IdP-initiated sign-in to the app (``none`` without MFA)."""
        self.directory, self.access, self.audit, self.provisioning = directory, access, audit, provisioning
        self.locked_for, self.mfa_need = locked_for, mfa_need

    def of(self, slug: str, uid: str) -> Diagnosis:
        """The diagnosis of `uid` for `slug` (404 naming the app or the user when either does not exist)."""
        from idp.provisioning.planner import ProvisioningConfig  # on first use: the SCIM protocol's imports

        app = self.directory.get_app(slug)
        if not app:
            raise not_found("app", slug)
        user = self.directory.get_user(uid)
        if not user:
            raise not_found("user", uid)
        access = self.access.to_app(slug, uid)
        app_sso = self._latest(AuditQuery(type="sso", app=slug))
        facts = SignInFacts(
            user_state=user.get("state", "ACTIVE"), direct=access.direct, groups=access.groups,
            locked_for=self.locked_for(uid), mfa_need=self.mfa_need(user, slug),
            acs_urls=tuple(app.get("acs_urls") or ()), signs_requests=bool(app.get("sp_certificate")),
            last_app_sso_reason=app_sso.get("reason") if app_sso and app_sso["outcome"] == "failure" else None)
        log = self.provisioning.read_log(slug, user_id=uid, limit=1)
        return Diagnosis(
            tuple(reasons(facts)), access.direct, access.groups, self._latest(AuditQuery(type="sso", user_id=uid, app=slug)),
            provisioning_view(self.provisioning.get_map(slug, "USER", uid), ProvisioningConfig.from_app(app) is not None,
                              log[0] if log else None))

    def _latest(self, query: AuditQuery) -> dict[str, Any] | None:
        items, _ = self.audit.query(query, limit=1)
        return items[0] if items else None
