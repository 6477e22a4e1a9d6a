"""Admin API input models: pydantic, unknown fields rejected, errors name the field."""
from __future__ import annotations

import re
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from idp.directory.password_policy import DEFAULT_MIN_LENGTH, MIN_LENGTH_CEILING, MIN_LENGTH_FLOOR
from idp.kernel import targets
from idp.kernel.errors import DomainError

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
_USERNAME = re.compile(r"^[A-Za-z0-9._@+-]{1,128}$")

UserState = Literal["ACTIVE", "SUSPENDED"]
USER_FIELDS = (
    "username", "email", "firstname", "lastname", "displayname", "title",
    "department", "employee_id", "phone", "location", "state",
)


class _Strict(BaseModel):
    # Built on first use (the first request that validates it), not at import: a cold start of the admin
    # API validates one model per request, and the OpenAPI document is rendered only when asked for.
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, defer_build=True)


def is_email(value: str) -> bool:
    """The shape the directory accepts as an email address (users, and the activation test user)."""
    return bool(_EMAIL.match(value))


def _check_email(value: str | None) -> str | None:
    if value is not None and not is_email(value):
        raise ValueError("must be an email address like name@example.com")
    return value


def _check_username(value: str | None) -> str | None:
    if value is not None and not _USERNAME.match(value):
        raise ValueError("may hold only letters, digits and . _ @ + - (1 to 128 characters)")
    return value


CONFIRM_REUSE = ("true: take a username or email that another user released (deleted, or changed) less than the "
                 "quarantine period ago (IDP_RELEASED_NAME_QUARANTINE_DAYS, 30 by default); without it, such a name is a "
                 "409 'quarantined' naming the date the quarantine ends. A confirmed reuse is audited.")

PASSWORD = ("write-only, never returned; checked against the password policy (GET /admin/password-policy: its minimum "
            "length, common and breached passwords, the user's own names): a refusal is a 400 'weak_password' naming the rule")

#: What a user may be besides a person in the directory: "admin" may use the console (contract section 6).
ROLES = ("admin",)


def _check_roles(value: list[str] | None) -> list[str] | None:
    """Known roles only, each once, in a stable order (None: not given)."""
    if value is None:
        return None
    unknown = [r for r in value if r not in ROLES]
    if unknown:
        raise ValueError(f"unknown role '{unknown[0]}' (known roles: {', '.join(ROLES)})")
    return sorted(set(value))


class UserCreate(_Strict):
    username: str = Field(min_length=1, max_length=128)
    email: str = Field(max_length=254)
    firstname: str = Field(min_length=1, max_length=128)
    lastname: str = Field(min_length=1, max_length=128)
    displayname: str | None = Field(default=None, max_length=256)
    password: str | None = Field(default=None, max_length=1024, description=PASSWORD)
    title: str | None = Field(default=None, max_length=256)
    department: str | None = Field(default=None, max_length=256)
    employee_id: str | None = Field(default=None, max_length=128)
    phone: str | None = Field(default=None, max_length=64)
    location: str | None = Field(default=None, max_length=256)
    state: UserState = "ACTIVE"
    roles: list[str] | None = Field(default=None, max_length=10)
    confirm_reuse: bool = Field(default=False, description=CONFIRM_REUSE)  # not stored: see idp.directory.quarantine
    send_activation: bool = Field(default=False, strict=True, description=(
        "true: email the user a single-use link (valid 7 days) to set their password (no password needed); "
        "as POST /admin/users/{id}/activation"))  # not stored: the admin route sends it after the create

    _email = field_validator("email")(_check_email)
    _username = field_validator("username")(_check_username)
    _roles = field_validator("roles")(_check_roles)


class UserPatch(_Strict):
    NOT_NULL: ClassVar[tuple[str, ...]] = ("username", "email", "firstname", "lastname", "state")  # omit, not null
    username: str | None = Field(default=None, min_length=1, max_length=128)
    email: str | None = Field(default=None, max_length=254)
    firstname: str | None = Field(default=None, min_length=1, max_length=128)
    lastname: str | None = Field(default=None, min_length=1, max_length=128)
    displayname: str | None = Field(default=None, max_length=256)
    password: str | None = Field(default=None, max_length=1024, description=PASSWORD)
    title: str | None = Field(default=None, max_length=256)
    department: str | None = Field(default=None, max_length=256)
    employee_id: str | None = Field(default=None, max_length=128)
    phone: str | None = Field(default=None, max_length=64)
    location: str | None = Field(default=None, max_length=256)
    state: UserState | None = None
    roles: list[str] | None = Field(default=None, max_length=10)
    confirm_reuse: bool = Field(default=False, description=CONFIRM_REUSE)  # not stored: see idp.directory.quarantine

    _email = field_validator("email")(_check_email)
    _username = field_validator("username")(_check_username)
    _roles = field_validator("roles")(_check_roles)


class PasswordPolicySettings(_Strict):
    """The password policy as PUT /admin/password-policy (and the console's Settings) take it: a field left out
    takes its default; numbers and booleans as JSON has them (``"12"`` or ``1`` for a boolean is a 400)."""

    min_length: int = Field(default=DEFAULT_MIN_LENGTH, ge=MIN_LENGTH_FLOOR, le=MIN_LENGTH_CEILING, strict=True,
                            description="the fewest characters a password may have (8 to 128)")
    block_common: bool = Field(default=True, strict=True, description="refuse common and breached passwords")
    block_user_info: bool = Field(default=True, strict=True,
                                  description="refuse passwords containing the username, the email's local part, "
                                              "the first or the last name")


class GroupCreate(_Strict):
    name: str = Field(min_length=1, max_length=256)
    description: str | None = Field(default=None, max_length=1024)


class GroupPatch(_Strict):
    NOT_NULL: ClassVar[tuple[str, ...]] = ("name",)
    name: str | None = Field(default=None, min_length=1, max_length=256)
    description: str | None = Field(default=None, max_length=1024)


class SourceCreate(_Strict):
    """POST /admin/sources (contract section 10): an identity source (an HR system) pushing users over SCIM."""

    name: str = Field(min_length=1, max_length=128)
    match: Literal["none", "email", "username"] = Field(
        default="none", description="how a POSTed user is linked to an existing directory user owned by nobody")
    on_delete: Literal["suspend", "delete"] = Field(default="suspend", description="what the source's DELETE of a user does")


def _check_url(value: str) -> str:
    if not re.match(r"^https?://[^\s/]+", value):
        raise ValueError(f"'{value}' is not an http(s) URL")
    return value


def _allow_local(info: ValidationInfo) -> bool:
    return bool((info.context or {}).get("allow_local_targets"))


def _check_target(value: str, info: ValidationInfo, *, connect: bool) -> str:
    """https only (http to loopback in the local stack); the SCIM base URL no internal address either."""
    return targets.check_url(_check_url(value), allow_local=_allow_local(info), connect=connect)


_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*$")


def _check_entity_id(value: str | None) -> str | None:
    """An SP entity ID must be a valid xs:anyURI, or strict SPs reject every Audience that carries it."""
    if value is None:
        return None
    if any(c.isspace() for c in value):
        raise ValueError("must be a URI without spaces")
    head = value.split("/", 1)[0]
    if ":" in head and not _SCHEME.match(head.split(":", 1)[0]):
        raise ValueError(f"'{value}' is not a valid URI (text before ':' must be a scheme); use e.g. the bare host")
    return value


class _AppFields(_Strict):
    label: str | None = Field(default=None, min_length=1, max_length=256)
    sp_entity_id: str | None = Field(default=None, min_length=1, max_length=1024)
    acs_urls: list[str] | None = Field(default=None, min_length=1, max_length=20)
    nameid: Literal["email", "username"] | None = None
    sign: Literal["assertion", "response", "both"] | None = None
    default_relay_state: str | None = None
    attributes: dict[str, str] | None = None
    bookmark_url: str | None = None
    sp_slo_url: str | None = None  # where the SP takes LogoutResponses (its SingleLogoutService)
    sp_certificate: str | None = None
    deprovision: Literal["deactivate", "delete"] | None = None
    mfa: Literal["inherit", "required"] | None = None  # the app's MFA override (contract section 7)

    _entity = field_validator("sp_entity_id")(classmethod(lambda cls, v: _check_entity_id(v)))

    @field_validator("acs_urls")
    @classmethod
    def _acs(cls, value, info: ValidationInfo):
        return None if value is None else [_check_target(v, info, connect=False) for v in value]

    @field_validator("sp_slo_url")
    @classmethod
    def _slo(cls, value, info: ValidationInfo):
        return None if value is None else _check_target(value, info, connect=False)

    @field_validator("bookmark_url")
    @classmethod
    def _bookmark(cls, value):
        return None if value is None else _check_url(value)

    @field_validator("default_relay_state")
    @classmethod
    def _relay(cls, value):
        if value is not None and len(value.encode()) > 80:
            raise ValueError("must be at most 80 bytes (SAML Bindings 3.4.3)")
        return value

    @field_validator("attributes")
    @classmethod
    def _attributes(cls, value):
        if value is None:
            return None
        allowed = set(USER_FIELDS) | {"id", "name"}
        for attr, field in value.items():
            if field not in allowed:
                raise ValueError(f"attribute '{attr}' maps to unknown user field '{field}'")
        return value


class AppCreate(_AppFields):
    slug: str
    label: str = Field(min_length=1, max_length=256)
    template: Literal["officespace", "custom"] = "officespace"
    sp_entity_id: str = Field(min_length=1, max_length=1024)
    acs_urls: list[str] = Field(min_length=1, max_length=20)

    @field_validator("slug")
    @classmethod
    def _slug(cls, value):
        if not _SLUG.match(value):
            raise ValueError("must be lowercase letters, digits and hyphens (1 to 63, starting with a letter or digit)")
        return value


class AppPatch(_AppFields):
    NOT_NULL: ClassVar[tuple[str, ...]] = ("label", "sp_entity_id", "acs_urls", "nameid", "sign", "mfa")


class ProvisioningSettings(_Strict):
    base_url: str
    token: str | None = Field(default=None, min_length=1, max_length=4096)
    enabled: bool = True
    group_management: bool = False
    dialect: Literal["standard", "entra", "put"] | None = None
    matching_attribute: Literal["userName", "emails", "externalId"] | None = None
    require_import_confirmation: bool | None = None  # the first push to a non-empty SP waits for POST .../provisioning/import confirmed
    deprovision: Literal["deactivate", "delete"] | None = None
    max_deprovision_share: float | None = Field(default=None, ge=0, le=1)
    deprovision_guard_min: int | None = Field(default=None, ge=0)
    attribute_mapping: dict[str, str] | None = None
    # Requests in flight to the SP during a sync (idp.provisioning.planner.MAX_CONCURRENCY; absent: 16).
    max_concurrency: int | None = Field(default=None, strict=True, ge=1, le=32,
                                        description="requests sent to the SP at once during a full sync, 1 to 32 "
                                                    "(default 16; 1: one at a time)")

    @field_validator("attribute_mapping")
    @classmethod
    def _mapping(cls, value):
        if value is None:
            return None
        from idp.scim.mapping import validate_mapping

        return validate_mapping(value)

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, value, info: ValidationInfo):
        return _check_target(value, info, connect=True).rstrip("/")


# What no directory text may hold (contract section 2): C0 controls (U+0000-U+001F), DEL, C1 controls
# (U+0080-U+009F), and what XML cannot carry at all (lone surrogates, U+FFFE, U+FFFF). A user's fields go
# into every SAML assertion: one such character there and every SSO of that user failed with a 500.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
# A PEM (an SP's certificate) is lines: tab, line feed and carriage return are its whitespace.
_CONTROL_IN_LINES = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
# By top-level field: a password is a secret that never leaves its hash (any character may be in it).
_TEXT_RULES = {"password": None, "sp_certificate": _CONTROL_IN_LINES}


def _control_character(value, path: str, rule: re.Pattern) -> DomainError | None:
    """The 400 naming the first field (a dotted path, as pydantic names nested ones) whose text holds a
    control character, or None. The message gives the character's code point, never the value."""
    if isinstance(value, str):
        found = rule.search(value)
        if found:
            return DomainError(400, "invalid_field", f"field '{path}': must not contain control characters "
                                                     f"(U+{ord(found.group()):04X} at position {found.start() + 1})")
    elif isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str) and (hit := rule.search(key)):
                return DomainError(400, "invalid_field", f"field '{path}': a name in it must not contain control characters "
                                                         f"(U+{ord(hit.group()):04X})")
            problem = _control_character(item, f"{path}.{key}", rule)
            if problem:
                return problem
    elif isinstance(value, list):
        for i, item in enumerate(value):
            problem = _control_character(item, f"{path}.{i}", rule)
            if problem:
                return problem
    return None


def refuse_control_characters(body: dict) -> None:
    """Every text of a body, nested ones and names included, free of control characters, or a 400 naming
    the field. `parse()` applies it to every model: users, groups, apps and provisioning alike, whether
    the admin API, the console or the import of an SP's users sent the values."""
    for name, value in body.items():
        if isinstance(name, str) and (hit := _CONTROL.search(name)):
            raise DomainError(400, "invalid_field", f"a field name must not contain control characters "
                                                    f"(U+{ord(hit.group()):04X})")
        rule = _TEXT_RULES.get(name, _CONTROL)
        problem = _control_character(value, name, rule) if rule is not None else None
        if problem:
            raise problem


def parse[M: BaseModel](model: type[M], body, *, allow_local_targets: bool = False) -> M:
    """Validate a JSON body into `model`, turning pydantic errors into a 400 that names the field.
    `allow_local_targets`: the local stack, where plain http to loopback is a valid target."""
    if not isinstance(body, dict):
        raise DomainError(400, "invalid_body", "the request body must be a JSON object")
    refuse_control_characters(body)
    try:
        return model.model_validate(body, context={"allow_local_targets": allow_local_targets})
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"]) or "body"
        if err["type"] == "extra_forbidden":
            raise DomainError(400, "unknown_field", f"unknown field '{field}'") from None
        if err["type"] == "missing":
            raise DomainError(400, "missing_field", f"field '{field}' is required") from None
        msg = err["msg"].removeprefix("Value error, ")
        raise DomainError(400, "invalid_field", f"field '{field}': {msg}") from None
