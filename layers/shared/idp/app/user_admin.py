"""Users as an administrator sees and changes them, the use case behind the console's Users pages
(idp.web.console.users) and the admin API's user routes (idp.web.admin_routes): a page of users, the console's
search, a user's page in one read (the user, their groups, the apps they may open and through what, their
provisioning state per app with its newest log entries, their second factors), the sign-in diagnosis, the state
change, the activation and reset links and the MFA reset, each recorded as done by the administrator acting."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping, Protocol

from idp.app.acting import Acting
from idp.app.diagnosis import Diagnosis, SignInDiagnosis
from idp.app.search import Found, scan
from idp.app.user_access import AppAccess, UserAccess
from idp.kernel.errors import DomainError
from idp.kernel.users import SUSPENDED, is_admin, state_is_active

if TYPE_CHECKING:
    from idp.directory.lifecycle import SentLink, UserLifecycle
    from idp.directory.service import DirectoryService

SEARCHED = ("username", "email", "firstname", "lastname", "displayname")


class UserReads(Protocol):
    """What the use case reads of the directory (`idp.adapters.directory_store.DirectoryStore`)."""

    def list_users(self, limit: int | None = None, cursor: str | None = None) -> tuple[list[dict[str, Any]], str | None]: ...

    def list_groups(self, limit: int | None = None, cursor: str | None = None) -> tuple[list[dict[str, Any]], str | None]: ...

    def list_apps(self, limit: int | None = None, cursor: str | None = None) -> tuple[list[dict[str, Any]], str | None]: ...

    def get_group(self, gid: str) -> dict[str, Any] | None: ...

    def groups_of_user(self, uid: str) -> list[str]: ...

    def all_app_slugs(self) -> list[str]: ...

    def get_app(self, slug: str) -> dict[str, Any] | None: ...


class UserProvisioningReads(Protocol):
    """The user's pushed state per app (`idp.provisioning.ports`' mappings and log)."""

    def get_map(self, slug: str, kind: str, eid: str) -> dict[str, Any] | None: ...

    def read_log_page(self, slug: str, *, user_id: str | None = None, group_id: str | None = None,
                      limit: int = 50, start_key: dict[str, Any] | None = None) -> tuple[list[dict[str, Any]], Any]: ...


class Factors(Protocol):
    """The user's second factors (`idp.signon.mfa.service.MfaService`)."""

    def factors(self, uid: str) -> list[dict[str, Any]]: ...


@dataclass(frozen=True)
class Page:
    """A page of records and the cursor of the next (None at the end): the admin API's list body."""

    items: tuple[Mapping[str, Any], ...]
    next_cursor: str | None

    def as_json(self) -> dict[str, Any]:
        return {"items": [dict(i) for i in self.items], "next_cursor": self.next_cursor}


@dataclass(frozen=True)
class AppProvisioning:
    """The user in one app with provisioning: their mapping there (empty: not pushed) and the newest log entries."""

    slug: str
    label: str
    mapping: Mapping[str, Any]
    log: tuple[Mapping[str, Any], ...]


@dataclass(frozen=True)
class UserOverview:
    """Everything the console's user page shows of a user (the user's groups and the others sorted by name)."""

    user: Mapping[str, Any]
    groups: tuple[Mapping[str, Any], ...]
    other_groups: tuple[Mapping[str, Any], ...]
    access: tuple[AppAccess, ...]
    provisioning: tuple[AppProvisioning, ...]
    factors: tuple[Mapping[str, Any], ...]
    all_apps: tuple[Mapping[str, Any], ...]

    @property
    def is_admin(self) -> bool:
        return is_admin(self.user)


def _by_name(group: Mapping[str, Any]) -> str:
    return str(group.get("name") or "").lower()


class UserAdmin:
    """Every method raises a `DomainError` naming what is wrong (404 no such user or app, 400 a refused change)."""

    def __init__(self, directory: DirectoryService, reads: UserReads, provisioning: UserProvisioningReads,
                 lifecycle: UserLifecycle, access: UserAccess, diagnosis: SignInDiagnosis, factors: Factors) -> None:
        self.directory, self.reads, self.provisioning = directory, reads, provisioning
        self.lifecycle, self.access, self.diagnosis, self.factors = lifecycle, access, diagnosis, factors

    # ------------------------------------------------------------------ reads
    def list_users(self, limit: int | None, cursor: str | None = None) -> Page:
        """GET /admin/users and the console's list: a page of users by cursor."""
        items, next_cursor = self.reads.list_users(limit, cursor)
        return Page(tuple(items), next_cursor)

    def search(self, needle: str, offset: int, limit: int) -> Found:
        """Users whose name, username or email contains `needle` (any case), from `offset`; at most
        search.SCAN_LIMIT users are read."""
        needle = needle.lower()
        return scan(self.reads.list_users, lambda u: any(needle in str(u.get(k) or "").lower() for k in SEARCHED),
                    offset, limit)

    def get(self, uid: str) -> dict[str, Any]:
        """The user (404 naming the user when there is none)."""
        return self.directory.get_user(uid)

    def password_rules(self) -> str:
        """The password policy in words (the Password field's hint; the directory checks it again on a change)."""
        return self.directory.password_policy().describe()

    def overview(self, uid: str) -> UserOverview:
        """The user's page: the user, groups, access per app, provisioning per app, factors, and every app."""
        user = self.get(uid)
        groups = [g for g in (self.reads.get_group(gid) for gid in self.reads.groups_of_user(uid)) if g]
        member_of = {g["id"] for g in groups}
        others, _ = self.reads.list_groups(200, None)
        return UserOverview(
            user=user, groups=tuple(sorted(groups, key=_by_name)),
            other_groups=tuple(sorted((g for g in others if g["id"] not in member_of), key=_by_name)),
            access=tuple(self.access.apps_of(uid)), provisioning=self.provisioning_of(uid),
            factors=tuple(self.factors.factors(uid)), all_apps=tuple(self.reads.list_apps(200, None)[0]))

    def provisioning_of(self, uid: str) -> tuple[AppProvisioning, ...]:
        """Per app with provisioning configured where the user was pushed or logged: their mapping and newest log."""
        from idp.provisioning.planner import ProvisioningConfig  # on first use: the SCIM protocol's imports

        rows = []
        for slug in self.reads.all_app_slugs():
            app = self.reads.get_app(slug)
            if ProvisioningConfig.from_app(app) is None or app is None:
                continue
            mapping = self.provisioning.get_map(slug, "USER", uid) or {}
            log, _ = self.provisioning.read_log_page(slug, user_id=uid, limit=5)
            if mapping or log:
                rows.append(AppProvisioning(slug, str(app.get("label") or slug), mapping, tuple(log)))
        return tuple(rows)

    def diagnose(self, slug: str, uid: str) -> Diagnosis:
        """Whether the user can sign in to the app now, and every reason not (`idp.app.diagnosis`)."""
        return self.diagnosis.of(slug, uid)

    # ------------------------------------------------------------------ changes
    def create(self, body: object, by: Acting, *, activation_base_url: str | None = None) -> dict[str, Any]:
        """POST /admin/users and the console's Create user: the new user; with `activation_base_url`, also emailed
        an activation link on it (a suspended user cannot be: refused before anything is stored)."""
        if activation_base_url is not None and isinstance(body, dict) and body.get("state") == SUSPENDED:
            raise DomainError(400, "invalid_field",
                              "field 'send_activation': a suspended user cannot be sent an activation link")
        user = self.directory.acting_as(by.actor, by.ip, by.user_agent).create_user(body)
        if activation_base_url is not None:
            self.send_link(user["id"], activation_base_url, by, activation=True)
        return user

    def set_state(self, uid: str, state: str, by: Acting) -> dict[str, Any]:
        """Suspend (every session ends) or activate the user; an administrator cannot suspend themself."""
        if uid == by.actor.id and not state_is_active(state):
            raise DomainError(400, "invalid_field", "you cannot suspend yourself")
        return self.directory.acting_as(by.actor, by.ip, by.user_agent).update_user(uid, {"state": state})

    def delete(self, uid: str, by: Acting) -> None:
        """Delete the user; an administrator cannot delete their own account."""
        if uid == by.actor.id:
            raise DomainError(400, "invalid_field", "you cannot delete your own account")
        self.directory.acting_as(by.actor, by.ip, by.user_agent).delete_user(uid)

    def send_link(self, uid: str, base_url: str, by: Acting, *, activation: bool = True) -> SentLink:
        """Email the user an activation link (7 days) or a password reset link (30 minutes), single use."""
        lifecycle = self.lifecycle.acting_as(by.actor, by.ip, by.user_agent)
        return lifecycle.send_activation(uid, base_url) if activation else lifecycle.send_reset(uid, base_url)

