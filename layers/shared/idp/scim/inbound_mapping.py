"""How a directory user or group reads as a SCIM resource, and back (contract section 10): userName <-> username;
the primary (else work) email <-> email; name.givenName/familyName <-> firstname/lastname; displayName; title;
the work phone number <-> phone; active <-> state ACTIVE/SUSPENDED; the enterprise extension's employeeNumber
and department <-> employee_id and department; externalId kept. Groups: displayName <-> name, members."""
from __future__ import annotations

import json
from typing import Any, Mapping, Sequence

from scim2_models import Email, EnterpriseUser, GroupMember, Meta, Name, PhoneNumber

from idp.kernel.users import ACTIVE, SUSPENDED, is_active
from idp.scim.server import POLICY, GroupResource, UserResource, dump

# The resource as the source last wrote it is kept beside the directory's fields (`scim_document`), so what the
# directory does not map (nickName, addresses, a second email, ...) reads back as written; the mapped fields always
# read as the directory holds them. At most this many bytes of it are kept (a DynamoDB item holds 400 KB): a larger
# one is not kept, and the resource then reads back as its mapped attributes alone.
MAX_DOCUMENT_BYTES = 256 * 1024

# The directory fields a source's resource sets; None clears an optional one.
OPTIONAL_USER_FIELDS = ("displayname", "title", "phone", "employee_id", "department")


def _meta(record: Mapping[str, Any], kind: str, location: str) -> Meta:
    return Meta(resource_type=kind, created=record.get("created_at"), last_modified=record.get("updated_at"),
                location=location, version=f'W/"{record.get("version", 1)}"')


def document(resource: Any) -> str | None:
    """What is kept of a resource a source wrote (its attributes, without id and meta), as JSON. A group's members
    are the directory's: of them only what the source said of each (display) is kept, and only while it fits."""
    body = {k: v for k, v in dump(resource).items() if k not in ("id", "meta")}
    text = json.dumps(body, separators=(",", ":"), sort_keys=True)
    if len(text.encode()) > MAX_DOCUMENT_BYTES and "members" in body:
        text = json.dumps({k: v for k, v in body.items() if k != "members"}, separators=(",", ":"), sort_keys=True)
    return text if len(text.encode()) <= MAX_DOCUMENT_BYTES else None


def _from_document(model: Any, text: str | None) -> Any | None:
    if not text:
        return None
    try:
        return model.model_validate(json.loads(text), scim_policy=POLICY)
    except ValueError:  # a document an older version wrote differently: the directory's fields alone
        return None


def _set_value(entries: list[Any] | None, current: str | None, wanted: str | None, make: Any) -> list[Any] | None:
    """`entries` with the one whose value is `current` (the one the mapping reads) holding `wanted` instead:
    removed when `wanted` is None, a new first entry when there was none."""
    entries = list(entries or [])
    if current == wanted:
        return entries or None
    chosen = next((e for e in entries if current is not None and getattr(e, "value", None) == current), None)
    if chosen is None:
        return [make(wanted), *entries] if wanted else (entries or None)
    if wanted:
        chosen.value = wanted
        return entries
    return [e for e in entries if e is not chosen] or None


def user_resource(user: Mapping[str, Any], location: str) -> Any:
    """The directory user as a SCIM User with the enterprise extension: the source's document where it has one,
    with every mapped attribute as the directory holds it."""
    resource = _from_document(UserResource, user.get("scim_document"))
    if resource is not None:
        resource.id, resource.external_id, resource.meta = user["id"], user.get("external_id"), _meta(user, "User", location)
        active = is_active(user)
        # a source that never said (or removed) `active` created an active user: it reads as it wrote it
        resource.user_name, resource.active = user["username"], None if active and resource.active is None else active
        name = resource.name or Name()
        name.given_name, name.family_name = user.get("firstname"), user.get("lastname")
        resource.name = name
        resource.display_name, resource.title = user.get("displayname"), user.get("title")
        resource.emails = _set_value(resource.emails, _pick(resource.emails, "work"), user.get("email"),
                                     lambda v: Email(value=v, type=Email.Type.work, primary=True))
        resource.phone_numbers = _set_value(resource.phone_numbers, _work_phone(resource.phone_numbers), user.get("phone"),
                                            lambda v: PhoneNumber(value=v, type=PhoneNumber.Type.work))
        enterprise = resource[EnterpriseUser]
        if enterprise is not None or user.get("employee_id") or user.get("department"):
            enterprise = enterprise or EnterpriseUser()
            enterprise.employee_number, enterprise.department = user.get("employee_id"), user.get("department")
            resource[EnterpriseUser] = enterprise
        return resource
    resource = UserResource(
        id=user["id"], external_id=user.get("external_id"), user_name=user["username"],
        name=Name(given_name=user.get("firstname"), family_name=user.get("lastname"),
                  formatted=" ".join(filter(None, (user.get("firstname"), user.get("lastname")))) or None),
        display_name=user.get("displayname"), title=user.get("title"), active=is_active(user),
        emails=[Email(value=user["email"], type=Email.Type.work, primary=True)] if user.get("email") else None,
        phone_numbers=[PhoneNumber(value=user["phone"], type=PhoneNumber.Type.work)] if user.get("phone") else None,
        meta=_meta(user, "User", location),
    )
    if user.get("employee_id") or user.get("department"):
        resource[EnterpriseUser] = EnterpriseUser(employee_number=user.get("employee_id"), department=user.get("department"))
    return resource


def _pick(values: list[Any] | None, kind: str) -> str | None:
    """The primary value, else the one of type `kind` (work), else the first."""
    values = [v for v in values or [] if getattr(v, "value", None)]
    for chosen in ([v for v in values if v.primary], [v for v in values if str(getattr(v.type, "value", v.type)) == kind], values):
        if chosen:
            return str(chosen[0].value)
    return None


def _work_phone(values: list[Any] | None) -> str | None:
    values = [v for v in values or [] if getattr(v, "value", None)]
    for chosen in ([v for v in values if str(getattr(v.type, "value", v.type)) == "work"], [v for v in values if v.primary], values):
        if chosen:
            return str(chosen[0].value)
    return None


def user_fields(resource: Any) -> dict[str, Any]:
    """The directory fields a SCIM User sets (the optional ones None when the resource has none)."""
    name = resource.name or Name()
    enterprise = resource[EnterpriseUser] if resource[EnterpriseUser] is not None else EnterpriseUser()
    fields: dict[str, Any] = {
        "username": resource.user_name,
        "email": _pick(resource.emails, "work"),
        "firstname": name.given_name,
        "lastname": name.family_name,
        "displayname": resource.display_name,
        "title": resource.title,
        "phone": _work_phone(resource.phone_numbers),
        "employee_id": enterprise.employee_number,
        "department": enterprise.department,
        "state": SUSPENDED if resource.active is False else ACTIVE,
    }
    return fields


def _member(uid: str, users_location: str) -> GroupMember:
    return GroupMember.model_validate({"value": uid, "type": "User", "$ref": f"{users_location}/{uid}"})


def group_resource(group: Mapping[str, Any], members: Sequence[Mapping[str, Any]], location: str, users_location: str) -> Any:
    """The directory group as a SCIM Group; `members` the member users (their ids), with what the source's
    document says of each (display) and its other attributes."""
    kept = _from_document(GroupResource, group.get("scim_document"))
    if kept is not None:
        written = {str(m.value): m for m in kept.members or [] if m.value}
        kept.id, kept.external_id, kept.display_name = group["id"], group.get("external_id"), group["name"]
        kept.meta = _meta(group, "Group", location)
        kept.members = [written.get(m["id"]) or _member(m["id"], users_location) for m in members] or None
        return kept
    return GroupResource(
        id=group["id"], external_id=group.get("external_id"), display_name=group["name"],
        members=[_member(m["id"], users_location) for m in members] or None,
        meta=_meta(group, "Group", location),
    )


def member_ids(resource: Any) -> list[str]:
    """The member ids of a SCIM Group, in order, each once."""
    seen: dict[str, None] = {}
    for member in resource.members or []:
        if member.value:
            seen.setdefault(str(member.value), None)
    return list(seen)
