"""Directory user → SCIM User payload, per app attribute mapping, and the diff between two states
as PATCH operations (standard dialect, Entra dialect) or a PUT body.

A state is *flat*: {SCIM path: value}, e.g. {"userName": "a@x", "name.givenName": "Ann",
'emails[type eq "work"].value': "a@x", "urn:...:enterprise:2.0:User:department": "R&D",
"active": True}. Flat states hash, compare and diff attribute by attribute, so one changed
directory field gives exactly one PATCH operation."""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from idp.kernel.users import display_name
from idp.scim.protocol import ENTERPRISE_SCHEMA, GROUP_SCHEMA, USER_SCHEMA, ScimObject

#: A flat state: {SCIM path: value} (strings, and a bool under "active").
type FlatState = dict[str, Any]

WORK_EMAIL = 'emails[type eq "work"].value'
WORK_PHONE = 'phoneNumbers[type eq "work"].value'

# OfficeSpace defaults (Entra gallery app mapping): SCIM path → directory user field.
DEFAULT_USER_MAPPING: dict[str, str] = {
    "userName": "email",
    "name.givenName": "firstname",
    "name.familyName": "lastname",
    "displayName": "displayname",
    WORK_EMAIL: "email",
    "title": "title",
    f"{ENTERPRISE_SCHEMA}:department": "department",
    f"{ENTERPRISE_SCHEMA}:employeeNumber": "employee_id",
    WORK_PHONE: "phone",
}

DIRECTORY_FIELDS = {
    "id", "username", "email", "firstname", "lastname", "displayname", "title",
    "department", "employee_id", "phone", "location",
}

# Paths compared without case (RFC 7643: userName and email values are not case-exact).
_CASELESS = {"userName", WORK_EMAIL}

_MULTI = re.compile(r'^(?P<attr>[A-Za-z][\w]*)\[type eq "(?P<type>[^"]+)"\]\.(?P<sub>[A-Za-z]\w*)$')
_URN = re.compile(r"^(?P<schema>urn:[^\s]+):(?P<attr>[A-Za-z][\w.]*)$")
_SIMPLE = re.compile(r"^(?P<attr>[A-Za-z]\w*)(\.(?P<sub>[A-Za-z]\w*))?$")

DIALECTS = ("standard", "entra", "put")


@dataclass(frozen=True)
class ParsedPath:
    kind: str  # simple | complex | multi | extension
    attr: str
    sub: str = ""  # complex, multi: the sub-attribute
    type: str = ""  # multi: the entry's type
    schema: str = ""  # extension: the schema URN


def parse_path(path: str) -> ParsedPath:
    m = _MULTI.match(path)
    if m:
        return ParsedPath("multi", m["attr"], m["sub"], m["type"])
    m = _URN.match(path)
    if m:
        return ParsedPath("extension", m["attr"], schema=m["schema"])
    m = _SIMPLE.match(path)
    if m:
        return ParsedPath("complex" if m["sub"] else "simple", m["attr"], m["sub"] or "")
    raise ValueError(f"unsupported SCIM attribute path '{path}'")


def validate_mapping(mapping: dict[str, str]) -> dict[str, str]:
    for path, fieldname in mapping.items():
        parse_path(path)
        if fieldname not in DIRECTORY_FIELDS:
            raise ValueError(f"SCIM attribute '{path}' maps to unknown user field '{fieldname}'")
    if "userName" not in mapping:
        raise ValueError("the mapping must give userName")
    return mapping


# ---------------------------------------------------------------- desired state
def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def user_field(user: Mapping[str, object], fieldname: str) -> str | None:
    if fieldname == "displayname":
        return display_name(user) or None
    return _text(user.get(fieldname))


def desired_user_state(user: Mapping[str, object], mapping: Mapping[str, str] | None = None, *, active: bool = True) -> FlatState:
    """The flat SCIM state an SP should hold for this directory user."""
    flat: FlatState = {"externalId": str(user["id"])}
    for path, fieldname in (mapping or DEFAULT_USER_MAPPING).items():
        value = user_field(user, fieldname)
        if value is not None:
            flat[path] = value
    flat["active"] = bool(active)
    return flat


def state_hash(flat: Mapping[str, object]) -> str:
    return hashlib.sha256(json.dumps(flat, sort_keys=True, separators=(",", ":"), default=str).encode()).hexdigest()


# ---------------------------------------------------------------- flat ↔ SCIM JSON
def build_user_payload(flat: Mapping[str, object]) -> ScimObject:
    """A full SCIM User resource from a flat state (POST and PUT bodies)."""
    payload: ScimObject = {"schemas": [USER_SCHEMA]}
    multi: dict[str, dict[str, ScimObject]] = {}
    for path, value in flat.items():
        if value is None:
            continue
        p = parse_path(path)
        if p.kind == "simple":
            payload[p.attr] = value
        elif p.kind == "complex":
            payload.setdefault(p.attr, {})[p.sub] = value
        elif p.kind == "extension":
            if p.schema not in payload["schemas"]:
                payload["schemas"].append(p.schema)
            payload.setdefault(p.schema, {})[p.attr] = value
        else:
            entry = multi.setdefault(p.attr, {}).setdefault(p.type, {"type": p.type})
            entry[p.sub] = value
    for attr, by_type in multi.items():
        entries = list(by_type.values())
        entries[0]["primary"] = True
        payload[attr] = entries
    return payload


def _ci_get(obj: Any, key: str) -> Any:
    if not isinstance(obj, dict):
        return None
    if key in obj:
        return obj[key]
    lower = key.lower()
    for k, v in obj.items():
        if k.lower() == lower:
            return v
    return None


def _as_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return None


def flatten_resource(resource: Mapping[str, object], paths: Iterable[str]) -> FlatState:
    """Read the given paths out of a SCIM resource the SP returned (attribute names caseless)."""
    flat: FlatState = {}
    for path in paths:
        if path == "active":
            value = _as_bool(_ci_get(resource, "active"))
            flat["active"] = True if value is None else value
            continue
        p = parse_path(path)
        if p.kind == "simple":
            value = _ci_get(resource, p.attr)
        elif p.kind == "complex":
            value = _ci_get(_ci_get(resource, p.attr), p.sub)
        elif p.kind == "extension":
            value = _ci_get(_ci_get(resource, p.schema), p.attr)
        else:
            value = None
            entries = _ci_get(resource, p.attr) or []
            for entry in entries if isinstance(entries, list) else []:
                if str(_ci_get(entry, "type") or "").lower() == p.type.lower():
                    value = _ci_get(entry, p.sub)
                    break
        if isinstance(value, (dict, list)):
            value = None
        text = _text(value)
        if text is not None:
            flat[path] = text
    return flat


def same_value(path: str, a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is b
    if path in _CASELESS:
        return str(a).casefold() == str(b).casefold()
    if isinstance(a, bool) or isinstance(b, bool):
        return bool(a == b)
    return str(a) == str(b)


def changed_paths(old: Mapping[str, object], new: Mapping[str, object]) -> list[str]:
    return [p for p in sorted(set(old) | set(new)) if not same_value(p, old.get(p), new.get(p))]


# ---------------------------------------------------------------- PATCH
def _op(name: str, dialect: str) -> str:
    return name.capitalize() if dialect == "entra" else name


def user_patch_ops(old: Mapping[str, object], new: Mapping[str, object], dialect: str = "standard") -> list[ScimObject]:
    """PATCH operations taking an SP from `old` to `new`: only the attributes that differ."""
    ops: list[ScimObject] = []
    adds: dict[tuple[str, str], ScimObject] = {}
    for path in changed_paths(old, new):
        before, after = old.get(path), new.get(path)
        p = parse_path(path)
        if after is None:
            target = f'{p.attr}[type eq "{p.type}"]' if p.kind == "multi" else path
            ops.append({"op": _op("remove", dialect), "path": target})
        elif before is None and p.kind == "multi":
            # A filtered path with no match is a 400 noTarget: add the whole entry instead.
            entry = adds.setdefault((p.attr, p.type), {"type": p.type})
            entry[p.sub] = after
        else:
            ops.append({"op": _op("replace", dialect), "path": path, "value": after})
    for (attr, _type), entry in adds.items():
        if attr in ("emails", "phoneNumbers"):
            entry["primary"] = True
        ops.append({"op": _op("add", dialect), "path": attr, "value": [entry]})
    return ops


def group_payload(name: str, external_id: str, member_ids: Iterable[str] = ()) -> ScimObject:
    payload: ScimObject = {"schemas": [GROUP_SCHEMA], "displayName": name, "externalId": external_id}
    members = [{"value": m} for m in member_ids]
    if members:
        payload["members"] = members
    return payload


MAX_MEMBER_CHANGES = 100


def member_patch_batches(add: list[str], remove: list[str], dialect: str = "standard",
                         rename_to: str | None = None, limit: int = MAX_MEMBER_CHANGES) -> list[list[ScimObject]]:
    """PATCH bodies (lists of operations) for a group: at most `limit` member changes each; a
    rename rides with the first. Never `replace members`."""
    batches: list[list[ScimObject]] = []
    changes = [("remove", m) for m in remove] + [("add", m) for m in add]
    for i in range(0, len(changes), limit):
        chunk = changes[i : i + limit]
        ops: list[ScimObject] = []
        removes = [m for kind, m in chunk if kind == "remove"]
        adds = [m for kind, m in chunk if kind == "add"]
        if removes:
            if dialect == "entra":
                ops.append({"op": "Remove", "path": "members", "value": [{"value": m} for m in removes]})
            else:
                ops.extend({"op": "remove", "path": f"members[value eq {json.dumps(m)}]"} for m in removes)
        if adds:
            ops.append({"op": _op("add", dialect), "path": "members", "value": [{"value": m} for m in adds]})
        batches.append(ops)
    if rename_to is not None:
        rename = {"op": _op("replace", dialect), "path": "displayName", "value": rename_to}
        if batches:
            batches[0].insert(0, rename)
        else:
            batches.append([rename])
    return batches
