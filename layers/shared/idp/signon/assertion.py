"""What an assertion says about a user for one app: the NameID (email or username, by the app's
``nameid`` setting), the attributes (the app's SAML name → user field mapping; ``name`` is the
display name), and the ResponseParams of a signed-in user's answer. Pure: no store, no key (and the
Response builder is imported only when an answer is built)."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING

from idp.kernel.users import display_name
from idp.saml import constants as C
from idp.signon.mfa.policy import SECOND_FACTORS
from idp.signon.models import Session

if TYPE_CHECKING:
    from idp.saml.response import ResponseParams


def nameid_format(app: dict) -> str:
    """The NameID format the app's assertions carry (``nameid``: email, else username = unspecified)."""
    return C.nameid_format(app.get("nameid"))


def nameid_for(app: dict, user: dict) -> str:
    """The NameID value the app knows this user by."""
    return user["username"] if app.get("nameid", "email") == "username" else user["email"]


def nameid(app: dict, user: dict) -> tuple[str, str]:
    """(NameID value, NameID format) the app gets for this user."""
    return nameid_for(app, user), nameid_format(app)


def user_field(user: dict, field: str):
    """A user field by the name an attribute mapping uses (``name`` = the display name)."""
    if field == "name":
        return display_name(user)
    return user.get(field)


def attributes(app: dict, user: dict) -> dict[str, list[str]]:
    """The AttributeStatement's values by SAML attribute name; empty values are left out."""
    out: dict[str, list[str]] = {}
    for saml_name, field in (app.get("attributes") or {}).items():
        value = user_field(user, field)
        if value is None or value == "":
            continue
        out[saml_name] = [str(v) for v in value] if isinstance(value, list) else [str(value)]
    return out


def response_params(app: dict, user: dict, session: Session, *, idp_entity_id: str, acs_url: str,
                    in_response_to: str | None) -> "ResponseParams":
    """Everything the signed Response says: who, to whom, for which session."""
    from idp.saml.response import ResponseParams

    value, fmt = nameid(app, user)
    return ResponseParams(
        idp_entity_id=idp_entity_id,
        acs_url=acs_url,
        sp_entity_id=app["sp_entity_id"],
        nameid=value,
        nameid_format=fmt,
        attributes=attributes(app, user),
        session_index=session.session_index,
        authn_instant=datetime.fromtimestamp(session.auth_instant, timezone.utc),
        session_not_on_or_after=datetime.fromtimestamp(session.absolute_expiry, timezone.utc),
        in_response_to=in_response_to,
        sign=app.get("sign") or "both",
        authn_context=C.AC_REFEDS_MFA if SECOND_FACTORS.intersection(session.amr) else C.AC_PASSWORD_PROTECTED_TRANSPORT,
    )
