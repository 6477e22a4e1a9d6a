"""CSV import of users (contract section 10): the preview (idp.directory.csv_rows plans the file against the
directory; nothing is written to the directory, the plan is kept for the job), the confirmation (once; it queues
the job: one message per chunk of CHUNK_ROWS rows to apply), the job (each chunk applied through the
DirectoryService, so events, outbox and audit take the path an administrator's change takes) and the status.

Applying a row converges on what the file asked for: the user is read again and only what still differs is
written, so a chunk delivered twice (a Lambda that timed out, a redelivery) writes nothing the second time, and
its result is recorded once (a conditional write)."""
from __future__ import annotations

import secrets
from dataclasses import dataclass, field, replace
from typing import Callable, Literal, TypedDict

from aws_lambda_powertools import Logger

from idp.directory import csv_rows
from idp.directory.ports import ImportJobQueue, UserImportStore
from idp.directory.service import DirectoryService
from idp.kernel.audit import Actor
from idp.kernel.clock import now_iso
from idp.kernel.errors import DomainError, not_found

log = Logger(child=True)

CHUNK_ROWS = 250  # rows one job message applies (~2.5 s in AWS at ~10 ms a row; the function's timeout is 120 s)
CREATE_BATCH = 16  # users created in one transaction (each takes up to 6 of its 100 items: profile, 2 names, outbox)
Status = Literal["preview", "running", "done", "failed"]


class FailedRow(TypedDict):
    row: int
    errors: list[csv_rows.RowError]


class ChunkResult(TypedDict):
    chunk: int
    applied: int
    failed_rows: list[FailedRow]
    failed: bool  # the chunk ended on an unexpected error after its last attempt (the job "failed")


#: Sends a created user's activation email (the lifecycle feature's sender); None when this build has none.
ActivationSender = Callable[[str], None]


@dataclass
class UserImports:
    store: UserImportStore
    queue: ImportJobQueue
    directory: DirectoryService
    activation: ActivationSender | None = None

    def acting_as(self, actor: Actor, ip: str | None = None, user_agent: str | None = None) -> "UserImports":
        """These imports recording their audit events as done by ``actor`` (the console's administrator, the API's)."""
        return replace(self, directory=self.directory.acting_as(actor, ip, user_agent))

    # ------------------------------------------------------------------ preview
    def preview(self, data: bytes) -> dict:
        """POST /admin/imports/users: the plan of the file (201 body); the directory is not written."""
        table = csv_rows.read_csv(data)
        by_login: dict[str, dict] = {}
        for user in self.store.users():
            for what in csv_rows.LOGIN_FIELDS:
                if user.get(what):
                    by_login[str(user[what]).lower()] = user
        plan = csv_rows.plan(table, csv_rows.Directory(by_login, self.store.released_names, now_iso()))
        import_id = f"ui-{secrets.token_hex(8)}"
        rows = plan.applicable()
        chunks = [[_stored(r) for r in rows[i:i + CHUNK_ROWS]] for i in range(0, len(rows), CHUNK_ROWS)]
        summary = plan.summary()
        self.store.save_preview(import_id, {"summary": summary, "chunks": len(chunks), "created_at": now_iso(),
                                            "actor": self.directory.actor.to_dict()}, chunks)
        self.directory.record("admin.users.import_previewed", detail={"import_id": import_id, **summary})
        log.info("CSV import %s previewed: %s", import_id, summary)
        return {"id": import_id, "summary": summary, "rows": [r.view() for r in plan.rows]}

    # ------------------------------------------------------------------ confirmation
    def confirm(self, import_id: str, send_activation: bool) -> dict:
        """POST /admin/imports/users/{id}/confirm: queue the job (202 body); a 409 the second time."""
        head = self._head(import_id)
        if head.get("confirmed_at") or not self.store.confirm(import_id, {"send_activation": send_activation,
                                                                          "confirmed_by": self.directory.actor.to_dict()}):
            raise DomainError(409, "already_confirmed", f"import '{import_id}' was confirmed already; "
                                                        "send the file again for a new preview")
        chunks = int(head.get("chunks", 0))
        try:
            self.queue.enqueue(import_id, chunks)
        except Exception:  # the job could not be queued: undo the confirmation, a 503 the admin retries
            log.exception("CSV import %s: the job could not be queued", import_id)
            self.store.unconfirm(import_id)
            raise DomainError(503, "service_unavailable", "the import job could not be queued; nothing was changed: "
                                                          "confirm again in a moment") from None
        self.directory.record("admin.users.import_confirmed",
                              detail={"import_id": import_id, "send_activation": send_activation, **head.get("summary", {})})
        return self.status(import_id)

    # ------------------------------------------------------------------ status
    def status(self, import_id: str) -> dict:
        """GET /admin/imports/users/{id}."""
        head = self._head(import_id)
        results = self.store.results(import_id) if head.get("confirmed_at") else []
        state: Status = "preview"
        if head.get("confirmed_at"):
            finished = len(results) >= int(head.get("chunks", 0))
            # running until every chunk has its result; then failed when a chunk ended on its last attempt
            state = "running" if not finished else ("failed" if any(r.get("failed") for r in results) else "done")
        failed = sorted((row for r in results for row in r.get("failed_rows", [])), key=lambda f: f["row"])
        return {"id": import_id, "status": state, "summary": head.get("summary", {}),
                "applied": sum(int(r.get("applied", 0)) for r in results), "failed_rows": failed,
                "send_activation": bool(head.get("send_activation", False)),
                "created_at": head.get("created_at"), "confirmed_at": head.get("confirmed_at")}

    def _head(self, import_id: str) -> dict:
        head = self.store.head(import_id) if import_id.startswith("ui-") and len(import_id) <= 40 else None
        if head is None:
            raise not_found("user import", import_id)
        return head

    # ------------------------------------------------------------------ the job
    def apply_chunk(self, import_id: str, n: int, last_attempt: bool) -> ChunkResult | None:
        """Apply one chunk of a confirmed import (the job consumer, per SQS message). Row-level refusals (a name
        taken since the preview) are failed rows; an unexpected error raises, so the message is delivered again,
        except on its ``last_attempt``, where the rows it stops are failed rows and the chunk (and the job) failed.
        None: nothing to do (an unknown or expired import, a chunk a delivery before this one finished)."""
        head = self.store.head(import_id)
        if head is None or not head.get("confirmed_at"):
            log.warning("CSV import %s chunk %d: no confirmed import (expired?); dropped", import_id, n)
            return None
        if self.store.chunk_result(import_id, n) is not None:
            return None
        actor = head.get("confirmed_by") or {}
        run = _ChunkRun(self.directory.acting_as(Actor(actor.get("type", "admin"), actor.get("id"))), last_attempt,
                        self.activation if head.get("send_activation") else None, f"CSV import {import_id} chunk {n}")
        with run.directory.publishing_together():
            batch: list[dict] = []
            for row in self.store.chunk(import_id, n):
                if row["action"] == "create" and len(batch) < CREATE_BATCH:
                    batch.append(row)
                    continue
                run.creates(batch)
                batch = [row] if row["action"] == "create" else []
                if row["action"] != "create":
                    run.one(row)
            run.creates(batch)
        applied, failed, broken = run.applied, run.failed, run.broken
        result: ChunkResult = {"chunk": n, "applied": applied, "failed_rows": failed, "failed": broken}
        if not self.store.finish_chunk(import_id, n, dict(result)):
            return None
        log.info("CSV import %s chunk %d: applied=%d failed=%d", import_id, n, applied, len(failed))
        return result


@dataclass
class _ChunkRun:
    """One delivery of one chunk: creates in transactions of CREATE_BATCH users (one by one when a batch clashes,
    e.g. on a redelivery where some exist already), other rows one by one; what was applied and what failed."""

    directory: DirectoryService
    last_attempt: bool
    activation: ActivationSender | None
    name: str
    applied: int = 0
    failed: list[FailedRow] = field(default_factory=list)
    broken: bool = False

    def creates(self, rows: list[dict]) -> None:
        if not rows:
            return
        try:
            users = self.directory.create_users([dict(r["fields"]) for r in rows])
        except Exception:  # noqa: BLE001 - a clash (or a fault) cancels the whole batch: each row on its own then says which
            for row in rows:
                self.one(row)
            return
        self.applied += len(users)
        for user in users:
            self._created(user["id"])

    def one(self, row: dict) -> None:
        try:
            created = _apply(self.directory, row)
        except DomainError as exc:
            self.failed.append({"row": row["row"], "errors": [{"field": _field_of(exc), "message": exc.message}]})
            return
        except Exception as exc:  # retried by SQS; on the last attempt the row is reported failed
            if not self.last_attempt:
                raise
            log.exception("%s row %d failed on its last attempt", self.name, row["row"])
            self.failed.append({"row": row["row"], "errors": [{"field": "row", "message": f"could not be applied "
                                                               f"({type(exc).__name__}); import the row again"}]})
            self.broken = True
            return
        self.applied += 1
        if created:
            self._created(created)

    def _created(self, uid: str) -> None:
        if self.activation is not None:
            self.activation(uid)


def _stored(row: csv_rows.PlannedRow) -> dict:
    out: dict = {"row": row.row, "action": row.action, "fields": row.fields}
    if row.user_id:
        out["user_id"] = row.user_id
    return out


def _field_of(exc: DomainError) -> str:
    for what in ("username", "email"):
        if f"'{what}" in exc.message or exc.message.startswith(what):
            return what
    return "row"


def _apply(directory: DirectoryService, row: dict) -> str | None:
    """Make the user what the row asked for; only what still differs is written. The id of a user this call
    created, else None (updated, or nothing left to do)."""
    fields: dict = row["fields"]
    uid = row.get("user_id")
    if row["action"] == "create":
        try:  # one transaction in the usual case; it refuses a login name that is taken (or quarantined)
            return directory.create_user(dict(fields), read_released=False)["id"]
        except DomainError as exc:
            uid = directory.store.find_user_id("username", fields["username"]) if exc.status == 409 else None
            if uid is None:
                raise
            # taken by the user a delivery before this one created: converge on the row's values below
    user = directory.store.get_user(uid) if uid else None
    if user is None:
        raise DomainError(404, "not_found", f"user '{uid}' was deleted after the preview")
    changes = {k: v for k, v in fields.items() if user.get(k) != v}
    if changes:
        directory.update_user(user["id"], changes)
    return None
