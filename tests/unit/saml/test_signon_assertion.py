"""What an assertion says about a user (idp.signon.assertion): NameID by app setting, attributes, params."""
from __future__ import annotations

from datetime import datetime, timezone

from idp.saml import constants as C
from idp.signon.assertion import attributes, nameid, response_params
from idp.signon.models import Session

USER = {"id": "u-1", "username": "ada", "email": "ada@example.com", "firstname": "Ada", "lastname": "Lovelace",
        "displayname": "", "department": None, "groups": ["eng", "ops"], "state": "ACTIVE"}
OFFICESPACE = {"email": "email", "name": "name", "first_name": "firstname", "last_name": "lastname"}


def test_nameid_by_app_setting():
    assert nameid({}, USER) == ("ada@example.com", C.NAMEID_EMAIL)
    assert nameid({"nameid": "email"}, USER) == ("ada@example.com", C.NAMEID_EMAIL)
    assert nameid({"nameid": "username"}, USER) == ("ada", C.NAMEID_UNSPECIFIED)


def test_attributes_follow_the_apps_mapping():
    got = attributes({"attributes": OFFICESPACE}, USER)
    assert got == {"email": ["ada@example.com"], "name": ["Ada Lovelace"], "first_name": ["Ada"], "last_name": ["Lovelace"]}
    assert attributes({}, USER) == {} and attributes({"attributes": None}, USER) == {}


def test_attribute_name_is_the_kernels_display_name():
    assert attributes({"attributes": {"n": "name"}}, {**USER, "displayname": "Ada L."}) == {"n": ["Ada L."]}
    assert attributes({"attributes": {"n": "name"}}, {**USER, "displayname": "   "}) == {"n": ["Ada Lovelace"]}
    assert attributes({"attributes": {"n": "name"}}, {"username": "ada"}) == {"n": ["ada"]}


def test_empty_and_missing_values_are_left_out_and_lists_kept():
    mapping = {"dept": "department", "missing": "title", "groups": "groups", "id": "id"}
    assert attributes({"attributes": mapping}, USER) == {"groups": ["eng", "ops"], "id": ["u-1"]}


def test_response_params_for_a_session():
    session = Session("u-1", "_sess1", "csrf", auth_instant=1_900_000_000, absolute_expiry=1_900_028_800)
    app = {"sp_entity_id": "sp.example", "nameid": "username", "attributes": {"mail": "email"}}
    p = response_params(app, USER, session, idp_entity_id="https://idp.example/saml2/a", acs_url="https://sp.example/acs",
                        in_response_to="_r1")
    assert (p.idp_entity_id, p.acs_url, p.sp_entity_id) == ("https://idp.example/saml2/a", "https://sp.example/acs", "sp.example")
    assert (p.nameid, p.nameid_format) == ("ada", C.NAMEID_UNSPECIFIED)
    assert p.attributes == {"mail": ["ada@example.com"]}
    assert p.session_index == "_sess1" and p.in_response_to == "_r1" and p.sign == "both"
    assert p.authn_instant == datetime.fromtimestamp(1_900_000_000, timezone.utc)
    assert p.session_not_on_or_after == datetime.fromtimestamp(1_900_028_800, timezone.utc)
    assert response_params({**app, "sign": "assertion"}, USER, session, idp_entity_id="i", acs_url="a",
                           in_response_to=None).sign == "assertion"
