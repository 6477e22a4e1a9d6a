"""CSV import of users (contract section 10), the pure part: read the file, validate each row as the admin
API validates a user (the pydantic models of idp.directory.models, every error of a row at once), and plan
what importing it would do against the directory as it is now: ``create``, ``update`` (only the fields that
differ), ``unchanged`` or ``error``. Nothing here reads or writes a store.

Rules (the README's "CSV import of users" says the same to administrators):

- UTF-8 (a BOM is dropped), a header row naming columns among ``USER_FIELDS`` (any case), at least
  ``username`` or ``email``; at most ``MAX_ROWS`` data rows (blank lines are skipped, not counted).
- ``username`` (else ``email``, when the row has no username) finds an existing user; usernames and emails are
  one namespace of login names, as everywhere in the directory.
- An empty cell leaves the field as it is (a CSV import never clears a field); ``state`` is ACTIVE or
  SUSPENDED in any case. Passwords are never imported (a ``password`` column is refused).
- A row whose username exists with another email updates the email, unless that email is another user's
  login name (an error on ``email``). A login name twice in the file is an error on every later row.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import Callable, Literal, Mapping, TypedDict

from pydantic import BaseModel, ValidationError

from idp.directory import models, quarantine
from idp.kernel.errors import DomainError

MAX_ROWS = 10_000
COLUMNS: tuple[str, ...] = models.USER_FIELDS
LOGIN_FIELDS = ("username", "email")

Action = Literal["create", "update", "unchanged", "error"]


class RowError(TypedDict):
    field: str
    message: str


class RowView(TypedDict, total=False):
    row: int
    action: Action
    user_id: str
    errors: list[RowError]


@dataclass
class PlannedRow:
    """One data row of the file: its line number (the header is line 1), what importing it does, the user it
    changes, the validated values to write (a create's every given field; an update's changed fields only)."""

    row: int
    action: Action
    user_id: str | None = None
    fields: dict[str, str] = field(default_factory=dict)
    errors: list[RowError] = field(default_factory=list)

    def view(self) -> RowView:
        out: RowView = {"row": self.row, "action": self.action}
        if self.user_id:
            out["user_id"] = self.user_id
        if self.errors:
            out["errors"] = list(self.errors)
        return out


@dataclass
class Plan:
    rows: list[PlannedRow]

    def summary(self) -> dict[str, int]:
        counts = {"create": 0, "update": 0, "unchanged": 0, "error": 0}
        for row in self.rows:
            counts[row.action] += 1
        return counts

    def applicable(self) -> list[PlannedRow]:
        """The rows a confirmation applies: creates and updates, never errors."""
        return [r for r in self.rows if r.action in ("create", "update")]


@dataclass(frozen=True)
class CsvTable:
    columns: tuple[str, ...]
    rows: list[tuple[int, list[str]]]  # (line number, cells)


def _bad_file(message: str) -> DomainError:
    return DomainError(400, "invalid_csv", message)


def read_csv(data: bytes) -> CsvTable:
    """The header and the data rows of a CSV file, or a 4xx naming what is wrong with the file as a whole."""
    if not data.strip():
        raise _bad_file("the file is empty; send a header row (e.g. username,email,firstname,lastname) and one row per user")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _bad_file(f"the file is not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
                        "save it as CSV UTF-8 and send it again") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
        while header is not None and not any(c.strip() for c in header):
            header = next(reader, None)
        if header is None:
            raise _bad_file("the file holds no header row; its first line must name the columns")
        columns = _columns(header)
        rows: list[tuple[int, list[str]]] = []
        line = reader.line_num
        for cells in reader:
            start, line = line + 1, reader.line_num
            if not any(c.strip() for c in cells):
                continue
            if len(rows) >= MAX_ROWS:
                raise DomainError(413, "too_many_rows", f"the file has more than {MAX_ROWS:,} rows; an import takes at most "
                                  f"{MAX_ROWS:,} rows: split the file")
            rows.append((start, cells))
    except csv.Error as exc:
        raise _bad_file(f"the file is not valid CSV at line {reader.line_num}: {exc}") from None
    return CsvTable(columns, rows)


def _columns(header: list[str]) -> tuple[str, ...]:
    names = [c.strip().lower() for c in header]
    known = [n for n in names if n in COLUMNS]
    if not known:
        raise _bad_file("the file has no header row: its first line must name the columns, among "
                        + ", ".join(COLUMNS))
    if "password" in names:
        raise _bad_file("unknown column 'password': passwords are never imported (users set theirs through activation "
                        "or an administrator sets one)")
    unknown = [h.strip() for h, n in zip(header, names) if n not in COLUMNS]
    if unknown:
        raise _bad_file(f"unknown column(s) {', '.join(repr(u) for u in unknown)}; the columns are among {', '.join(COLUMNS)}")
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise _bad_file(f"column '{repeated[0]}' appears twice in the header row")
    if not set(LOGIN_FIELDS) & set(names):
        raise _bad_file("the header needs a 'username' or an 'email' column (they find existing users)")
    return tuple(names)


@dataclass(frozen=True)
class Directory:
    """The directory as the planner sees it: users by login name (lower case), and the released-name markers
    of the login names the plan would claim (``released(names)`` → {lower name: marker})."""

    by_login: Mapping[str, dict]
    released: Callable[[list[str]], Mapping[str, dict]]
    now: str


def _errors_of(exc: ValidationError, creating: bool) -> list[RowError]:
    out: list[RowError] = []
    for err in exc.errors():
        name = ".".join(str(p) for p in err["loc"]) or "row"
        if err["type"] == "missing":
            message = "is required to create a user" if creating else "is required"
        else:
            message = str(err["msg"]).removeprefix("Value error, ")
        out.append({"field": name, "message": message})
    return out


def _validated(model: type[BaseModel], values: dict[str, str], creating: bool) -> tuple[dict[str, str], list[RowError]]:
    errors: list[RowError] = []
    for name, value in values.items():
        try:
            models.refuse_control_characters({name: value})
        except DomainError as exc:
            errors.append({"field": name, "message": exc.message.removeprefix(f"field '{name}': ")})
    if errors:
        return {}, errors
    try:
        return model.model_validate(values).model_dump(exclude_unset=True), []
    except ValidationError as exc:
        return {}, _errors_of(exc, creating)


def _cells(columns: tuple[str, ...], cells: list[str]) -> tuple[dict[str, str], list[RowError]]:
    if len(cells) > len(columns) and any(c.strip() for c in cells[len(columns):]):
        return {}, [{"field": "row", "message": f"has {len(cells)} cells; the header names {len(columns)} columns"}]
    values = {name: cell.strip() for name, cell in zip(columns, cells) if cell.strip()}
    if "state" in values:
        values["state"] = values["state"].upper()
    return values, []


def plan(table: CsvTable, directory: Directory) -> Plan:
    """What importing every row would do now (see the module's rules)."""
    rows: list[PlannedRow] = []
    seen: dict[str, int] = {}  # login name (lower) -> the line that first named it
    for line, cells in table.rows:
        values, errors = _cells(table.columns, cells)
        planned = PlannedRow(line, "error", errors=errors)
        if not errors:
            planned = _plan_row(line, values, directory)
        for what in LOGIN_FIELDS:
            name = values.get(what, "").lower()
            if not name:
                continue
            if name in seen and seen[name] != line:
                planned.errors.append({"field": what, "message": f"'{values[what]}' is also on line {seen[name]} of the "
                                                                 "file (usernames and emails are one namespace)"})
            else:
                seen.setdefault(name, line)
        if planned.errors:
            planned.action, planned.fields = "error", {}
        rows.append(planned)
    _check_released(rows, directory)
    return Plan(rows)


def _plan_row(line: int, values: dict[str, str], directory: Directory) -> PlannedRow:
    key_field = "username" if values.get("username") else "email"
    key = values.get(key_field, "")
    if not key:
        return PlannedRow(line, "error", errors=[{"field": "username", "message": "a row needs a username or an email"}])
    user = directory.by_login.get(key.lower())
    if user is not None and key_field == "username" and str(user.get("username", "")).lower() != key.lower():
        return PlannedRow(line, "error", errors=[{"field": "username", "message": f"'{key}' is the email of another user "
                                                                                 f"({user.get('username')})"}])
    if user is None:
        fields, errors = _validated(models.UserCreate, values, creating=True)
        errors += _taken(fields, None, directory)
        return PlannedRow(line, "error", errors=errors) if errors else PlannedRow(line, "create", fields=fields)
    fields, errors = _validated(models.UserPatch, values, creating=False)
    changed = {k: v for k, v in fields.items() if user.get(k) != v}
    errors += _taken(changed, user["id"], directory)
    if errors:
        return PlannedRow(line, "error", user_id=user["id"], errors=errors)
    return PlannedRow(line, "update" if changed else "unchanged", user_id=user["id"], fields=changed)


def _taken(fields: dict[str, str], uid: str | None, directory: Directory) -> list[RowError]:
    """An error per login name of ``fields`` that already names another user."""
    errors: list[RowError] = []
    for what in LOGIN_FIELDS:
        value = fields.get(what)
        owner = directory.by_login.get(value.lower()) if value else None
        if owner is not None and owner["id"] != uid:
            errors.append({"field": what, "message": f"'{value}' is already the username or email of another user "
                                                     f"({owner.get('username')})"})
    return errors


def _check_released(rows: list[PlannedRow], directory: Directory) -> None:
    """Rows that would claim a login name in quarantine (idp.directory.quarantine) become errors: an import
    cannot confirm a reuse (the admin API and the console can, one user at a time)."""
    claims = [(row, what, row.fields[what]) for row in rows if row.action in ("create", "update")
              for what in LOGIN_FIELDS if row.fields.get(what)]
    if not claims:
        return
    markers = directory.released([value.lower() for _row, _what, value in claims])
    for row, what, value in claims:
        marker = markers.get(value.lower())
        if marker is not None and quarantine.holds(marker, row.user_id, directory.now):
            row.errors.append({"field": what, "message": quarantine.conflict(what, value, marker).message.split("; to give")[0]
                               + "; an import cannot confirm the reuse: set it on the user through the admin API or the console"})
            row.action, row.fields = "error", {}
