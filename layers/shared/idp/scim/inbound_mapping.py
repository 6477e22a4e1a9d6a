"""How a directory user or group reads as a SCIM resource, and back (contract section 10): userName <-> username;
the primary (else work) email <-> email; name.givenName/familyName <-> firstname/lastname; displayName; title;
the work phone number <-> phone; active <-> state ACTIVE/SUSPENDED; the enterprise extension's employeeNumber
and department <-> employee_id and department; externalId kept. Groups: displayName <-> name, members."""
from __future__ import annotations

from typing import Any, Mapping

from scim2_models import Email, EnterpriseUser, GroupMember, Meta, Name, PhoneNumber

from idp.scim.server import GroupResource, UserResource

# The directory fields a source's resource sets; None clears an optional one.
OPTIONAL_USER_FIELDS = ("displayname", "title", "phone", "employee_id", "department")


def _meta(record: Mapping[str, Any], kind: str, location: str) -> Meta:
    return Meta(resource_type=kind, created=record.get("created_at"), last_modified=record.get("updated_at"),
                location=location, version=f'W/"{record.get("version", 1)}"')


def user_resource(user: Mapping[str, Any], location: str) -> Any:
    """The directory user as a SCIM User with the enterprise extension."""
    resource = UserResource(
        id=user["id"], external_id=user.get("external_id"), user_name=user["username"],
        name=Name(given_name=user.get("firstname"), family_name=user.get("lastname"),
                  formatted=" ".join(filter(None, (user.get("firstname"), user.get("lastname")))) or None),
        display_name=user.get("displayname"), title=user.get("title"), active=user.get("state", "ACTIVE") == "ACTIVE",
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
        "state": "SUSPENDED" if resource.active is False else "ACTIVE",
    }
    return fields


def group_resource(group: Mapping[str, Any], members: list[Mapping[str, Any]], location: str, users_location: str) -> Any:
    """The directory group as a SCIM Group; `members` the member users (id and username)."""
    return GroupResource(
        id=group["id"], external_id=group.get("external_id"), display_name=group["name"],
        members=[GroupMember(value=m["id"], type="User", display=m.get("username"), ref=f"{users_location}/{m['id']}")
                 for m in members] or None,
        meta=_meta(group, "Group", location),
    )


def member_ids(resource: Any) -> list[str]:
    """The member ids of a SCIM Group, in order, each once."""
    seen: dict[str, None] = {}
    for member in resource.members or []:
        if member.value:
            seen.setdefault(str(member.value), None)
    return list(seen)
