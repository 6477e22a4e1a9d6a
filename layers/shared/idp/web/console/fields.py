"""What the console's forms share: the form's fields as a service body, a service's error placed next
to the field it names, pagination links and the checkboxes of a bind/unbind list."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterable, Mapping

from idp.kernel.errors import DomainError

_NAMED = re.compile(r"\bfield '([A-Za-z_]+)")  # "field 'email': ...", "field 'acs_urls.0': ..."
_UNKNOWN = re.compile(r"unknown field '([A-Za-z_]+)")
_TAKEN = re.compile(r"^(username|email) '")  # the store's 409: "username 'x' is already taken ..."


def error_field(exc: DomainError, fields: Iterable[str]) -> str | None:
    """The form field a service's error is about (one of ``fields``), or None (shown above the form)."""
    known = set(fields)
    for pattern in (_NAMED, _UNKNOWN, _TAKEN):
        match = pattern.search(exc.message)
        if match and match.group(1) in known:
            return match.group(1)
    if exc.code == "conflict" and "name" in known and "group named" in exc.message:
        return "name"
    if exc.code == "conflict" and "slug" in known and "slug" in exc.message:
        return "slug"
    return None


@dataclass
class FormErrors:
    """Errors of one posted form: per field, and one for the whole form."""

    by_field: dict[str, str] = field(default_factory=dict)
    general: str | None = None
    status: int = 200

    @classmethod
    def of(cls, exc: DomainError, fields: Iterable[str]) -> "FormErrors":
        name = error_field(exc, fields)
        errors = cls(status=exc.status if 400 <= exc.status < 500 else 400)
        if name:
            errors.by_field[name] = exc.message
        else:
            errors.general = exc.message
        return errors

    def __bool__(self) -> bool:
        return bool(self.by_field or self.general)


def text(form: Mapping[str, str], name: str) -> str | None:
    """A text field: stripped, None when empty (so an empty optional field is not sent)."""
    value = (form.get(name) or "").strip()
    return value or None


def lines(form: Mapping[str, str], name: str) -> list[str] | None:
    """A textarea of one value per line (empty lines dropped); None when there is none."""
    values = [line.strip() for line in (form.get(name) or "").splitlines() if line.strip()]
    return values or None


def checked(form: Mapping[str, str], name: str) -> bool:
    return form.get(name) in ("on", "true", "1", "yes")


def unconfirmed(form: Mapping[str, str], what: str = "") -> FormErrors | None:
    """The errors of a confirmation form whose "confirm" box is not ticked (None once it is): every
    destructive action asks first."""
    if checked(form, "confirm"):
        return None
    exc = DomainError(400, "missing_field", f"field 'confirm': tick the box to confirm{' the ' + what if what else ''}")
    return FormErrors.of(exc, ("confirm",))


def body_of(form: Mapping[str, str], names: Iterable[str]) -> dict:
    """The non-empty text fields of ``names`` as a service body."""
    return {n: v for n in names if (v := text(form, n)) is not None}


def key_values(form: Mapping[str, str], name: str) -> dict[str, str] | None:
    """A textarea of ``key = value`` lines (attribute mappings); None when empty; a 400 naming the field
    when a line is not of that shape."""
    out: dict[str, str] = {}
    for line in (form.get(name) or "").splitlines():
        if not line.strip():
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise DomainError(400, "invalid_field", f"field '{name}': each line must be 'name = value', not '{line.strip()[:60]}'")
        out[key.strip()] = value.strip()
    return out or None


@dataclass(frozen=True)
class Selection:
    """A bind/unbind list as posted: the ids the page showed and those checked among them."""

    shown: tuple[str, ...]
    chosen: frozenset[str]

    @classmethod
    def of(cls, form: Mapping[str, str], prefix: str) -> "Selection":
        shown = tuple(i for i in (form.get("shown") or "").split(",") if i)
        return cls(shown, frozenset(i for i in shown if checked(form, f"{prefix}{i}")))

    def changes(self, bound: Iterable[str]) -> tuple[list[str], list[str]]:
        """(ids to bind, ids to unbind): only among the ids shown, so other pages stay as they are."""
        before = set(bound) & set(self.shown)
        return sorted(self.chosen - before), sorted(before - self.chosen)


def page_size(query: Mapping[str, str], default: int = 25) -> int:
    try:
        return max(1, min(int(query.get("limit") or default), 200))
    except ValueError:
        return default
