"""Import of the users an SP already holds (contract section 8), the use case behind
idp.web.import_routes: `report` reads every SP user (SCIM GET /Users, paged, at most 10,000; nothing is written to the
SP), classifies them against the directory (idp.provisioning.import_report) and keeps the report 7 days; `confirm`
(once per report) writes the id mappings the push uses, creates unbound directory users from SP-only ones, and opens
the app's import gate (``require_import_confirmation``)."""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from aws_lambda_powertools import Logger

from idp.directory.ports import Publisher
from idp.kernel.audit import Actor
from idp.kernel.errors import DomainError, invalid, not_found
from idp.kernel.events import event
from idp.provisioning.ports import ImportReportStore

if TYPE_CHECKING:  # the planner, the SCIM mapping and the SCIM client's errors load with the import's first request
    from idp.directory.ports import DirectoryRepository
    from idp.directory.service import DirectoryService
    from idp.provisioning.engine import Engine
    from idp.provisioning.planner import ProvisioningConfig

log = Logger(child=True)


@dataclass(frozen=True)
class ImportReport:
    """Each SP user matched, in conflict or unmatched; the users bound to the app that the SP does not hold."""

    id: str
    items: tuple[Mapping[str, Any], ...]
    to_create: tuple[str, ...]
    truncated: bool

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "items": [dict(i) for i in self.items], "to_create": list(self.to_create),
                "truncated": self.truncated}


@dataclass(frozen=True)
class ImportConfirmation:
    """The links written (SP user, directory user) and the users created (or why one could not be)."""

    id: str
    linked: tuple[tuple[str, str], ...]
    created: tuple[Mapping[str, Any], ...]

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "linked": [{"sp_id": s, "user_id": u} for s, u in self.linked],
                "created": [dict(c) for c in self.created]}


def _unreadable(slug: str, exc: BaseException) -> DomainError:
    log.exception("the import of %s failed on the SP's answer", slug, extra={"app": slug})
    return DomainError(409, "sp_unreadable", f"the SP's users could not be used ({type(exc).__name__}: {str(exc)[:300]}); "
                       "the SP answered something that is not SCIM; ask for the report again once it is fixed")


class SpImport:
    def __init__(self, store: DirectoryRepository, directory: DirectoryService, engine: Engine,
                 reports: ImportReportStore, publisher: Publisher) -> None:
        self.store = store
        self.directory = directory
        self.engine = engine
        self.reports = reports
        self.publisher = publisher

    def _config(self, slug: str) -> ProvisioningConfig:
        from idp.provisioning.planner import ProvisioningConfig

        app = self.store.get_app(slug)
        if not app:
            raise not_found("app", slug)
        cfg = ProvisioningConfig.from_app(app)
        if cfg is None:
            raise DomainError(409, "not_configured",
                              f"provisioning is not configured for app '{slug}': PUT /admin/apps/{slug}/provisioning first")
        return cfg

    def _sp_users(self, cfg: ProvisioningConfig) -> tuple[list[dict[str, Any]], bool]:
        from idp.provisioning.import_report import MAX_SP_USERS
        from idp.scim.protocol import AuthError, ScimError

        client = self.engine.client_for(cfg)
        users: list[dict[str, Any]] = []
        try:
            for resource in client.iterate("Users", page_size=100, max_pages=MAX_SP_USERS // 100 + 1):
                if len(users) >= MAX_SP_USERS:
                    return users, True
                users.append(resource)
        except AuthError as exc:
            raise DomainError(409, "sp_auth_failed", f"the SP refused the token: {exc.message}") from None
        except ScimError as exc:
            # The app's SP configuration cannot be used right now: a 409 naming it (the request itself is fine, and
            # nothing of ours failed); Test Connection says more, and the report can be asked for again.
            raise DomainError(409, "sp_unavailable", f"the SP's users could not be read: {exc.message}; check Base URL "
                              "and Token Key with POST .../provisioning/test, then ask for the report again") from None
        except Exception as exc:  # noqa: BLE001 - a hostile SP's answer is its failure (a 409 naming it), never a 5xx
            raise _unreadable(cfg.slug, exc) from None
        return users, False

    def _directory_states(self, cfg: ProvisioningConfig) -> dict[str, dict[str, Any]]:
        from idp.scim import mapping as mp

        states: dict[str, dict[str, Any]] = {}
        cursor = None
        while True:
            page, cursor = self.store.list_users(200, cursor)
            for user in page:
                states[user["id"]] = mp.desired_user_state(user, cfg.attribute_mapping)
            if not cursor:
                return states

    def _linked(self, slug: str) -> dict[str, str]:
        """user id -> the SP user it is linked to."""
        maps = self.engine.stores.mappings.maps(slug, "USER", attributes=("scim_id",))
        return {uid: m["scim_id"] for uid, m in maps.items() if m.get("scim_id")}

    def report(self, slug: str) -> ImportReport:
        """Match the SP's users against the directory (writes nothing to the SP)."""
        from idp.directory.access import users_of_app
        from idp.provisioning.import_report import classify
        from idp.scim import mapping as mp

        cfg = self._config(slug)
        sp_users, truncated = self._sp_users(cfg)
        try:
            found = classify(sp_users, self._directory_states(cfg), self._linked(slug), users_of_app(self.store, slug),
                             cfg.matching_attribute, (cfg.attribute_mapping or mp.DEFAULT_USER_MAPPING).keys())
        except (AttributeError, KeyError, TypeError, ValueError, RecursionError) as exc:  # the SP users' shapes
            raise _unreadable(slug, exc) from None
        rid = f"imp-{secrets.token_hex(8)}"
        self.reports.put(slug, rid, {"items": found.items, "to_create": found.to_create, "sp_states": found.sp_states})
        log.info("import report app=%s id=%s sp_users=%d matched=%d conflicts=%d unmatched=%d to_create=%d", slug, rid,
                 len(found.items), *(sum(1 for i in found.items if i["status"] == s) for s in ("matched", "conflict", "unmatched")),
                 len(found.to_create), extra={"app": slug})
        return ImportReport(rid, tuple(found.items), tuple(found.to_create), truncated)

    def confirm(self, slug: str, report_id: str, links: object, create_users: object, *,
                actor: Actor, ip: str | None = None, user_agent: str | None = None) -> ImportConfirmation:
        """Link SP users to directory users and create directory users from SP-only ones (once per report); `links`
        and `create_users` as the request gave them (None: none), each checked here, in the order the API names."""
        from idp.provisioning.ports import STATUS_PENDING
        from idp.scim import mapping as mp

        self._config(slug)
        report = self.reports.get(slug, report_id)
        if report is None:
            raise not_found("import report", report_id)
        if report.get("confirmed_at"):
            raise DomainError(409, "already_confirmed", f"import report '{report_id}' was confirmed already; run a new import")
        rows = {row["sp_id"]: row for row in report["items"]}
        pairs = self._validated_links(_listed(links, "links"), rows, slug)
        creates: list[str] = []
        for i, sp_id in enumerate(_listed(create_users, "create_users")):
            if not isinstance(sp_id, str) or rows.get(sp_id, {}).get("status") != "unmatched":
                raise invalid("invalid_field", f"field 'create_users[{i}]': '{sp_id}' is not an unmatched SP user of this report")
            creates.append(sp_id)
        if not self.reports.mark_confirmed(slug, report_id):
            raise DomainError(409, "already_confirmed", f"import report '{report_id}' was confirmed already; run a new import")
        stores = self.engine.stores
        for sp_id, uid in pairs:
            current = report["sp_states"][sp_id]
            stores.mappings.save_pushed(slug, "USER", uid, scim_id=sp_id, status=STATUS_PENDING, pushed=current,
                              pushed_hash=mp.state_hash(current))
        stores.status.open_import_gate(slug)
        directory = self.directory.acting_as(actor, ip, user_agent)
        created = tuple(_create_user(directory, sp_id, report["sp_states"][sp_id]) for sp_id in creates)
        if pairs:
            self.publisher.publish([event("app.access_changed", uid, app=slug) for _sp, uid in pairs])
        directory.record("admin.app.import_confirmed", app=slug,
                         detail={"report_id": report_id, "linked": len(pairs), "created": sum(1 for c in created if "user_id" in c)})
        return ImportConfirmation(report_id, tuple(pairs), created)

    def _validated_links(self, links: Sequence[object], rows: Mapping[str, Any], slug: str) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        seen_sp: set[str] = set()
        seen_users: set[str] = set()
        linked = self._linked(slug)
        owners = {scim_id: uid for uid, scim_id in linked.items()}
        for i, link in enumerate(links):
            field = f"links[{i}]"
            if not isinstance(link, dict) or set(link) != {"sp_id", "user_id"} or not all(isinstance(v, str) for v in link.values()):
                raise invalid("invalid_field", f"field '{field}' must be {{\"sp_id\": ..., \"user_id\": ...}}")
            sp_id, uid = str(link["sp_id"]), str(link["user_id"])
            if sp_id not in rows:
                raise invalid("invalid_field", f"field '{field}.sp_id': '{sp_id}' is not an SP user of this report")
            if sp_id in seen_sp or uid in seen_users:
                raise invalid("invalid_field", f"field '{field}': each SP user and each directory user at most once")
            if not self.store.get_user(uid):
                raise invalid("invalid_field", f"field '{field}.user_id': no directory user '{uid}'")
            if linked.get(uid) not in (None, sp_id):
                raise DomainError(409, "conflict", f"user '{uid}' is linked to SP user '{linked[uid]}' already")
            if owners.get(sp_id) not in (None, uid):
                raise DomainError(409, "conflict", f"SP user '{sp_id}' is linked to user '{owners[sp_id]}' already")
            seen_sp.add(sp_id)
            seen_users.add(uid)
            out.append((sp_id, uid))
        return out


def _listed(value: object, name: str) -> list[object]:
    if not value:
        return []
    if not isinstance(value, list):
        raise invalid("invalid_field", f"field '{name}' must be a list")
    return value


def _create_user(directory: DirectoryService, sp_id: str, state: Mapping[str, Any]) -> dict[str, Any]:
    """A directory user (unbound) from an SP-only user; a clash or a bad value is reported, not raised."""
    from idp.scim import mapping as mp

    username = str(state.get("userName") or "")
    email = state.get(mp.WORK_EMAIL) or (username if "@" in username else None)
    local = username.split("@")[0] or username
    body = {"username": username, "email": email, "firstname": state.get("name.givenName") or local,
            "lastname": state.get("name.familyName") or local}
    try:
        user = directory.create_user(body)
    except DomainError as exc:
        return {"sp_id": sp_id, "error": exc.code, "message": exc.message}
    return {"sp_id": sp_id, "user_id": user["id"]}
