"""The console's form helpers, pure: which field a service's error names, bind/unbind of a page's
checkboxes, one-per-line and name = value textareas."""
from __future__ import annotations

import pytest

from idp.kernel.errors import DomainError
from idp.web.console.fields import FormErrors, Selection, error_field, key_values, lines

FIELDS = ("username", "email", "acs_urls", "name", "slug")


@pytest.mark.parametrize("message,code,field", [
    ("field 'email': must be an email address like name@example.com", "invalid_field", "email"),
    ("field 'acs_urls.0': 'ftp://x' is not an http(s) URL", "invalid_field", "acs_urls"),
    ("unknown field 'colour'", "unknown_field", None),
    ("username 'ada' is already taken (usernames and emails share one namespace)", "conflict", "username"),
    ("email 'a@b.co' is already taken (usernames and emails share one namespace)", "conflict", "email"),
    ("a group named 'Ops' already exists", "conflict", "name"),
    ("an app with slug 'officespace' already exists", "conflict", "slug"),
    ("the user changed concurrently; try again", "conflict", None),
])
def test_the_error_goes_next_to_the_field_it_names(message, code, field):
    exc = DomainError(409 if code == "conflict" else 400, code, message)
    assert error_field(exc, FIELDS) == field
    errors = FormErrors.of(exc, FIELDS)
    assert errors.status == exc.status and bool(errors)
    assert (errors.by_field == {field: message}) if field else (errors.general == message)


def test_a_5xx_is_never_a_form_status():
    assert FormErrors.of(DomainError(503, "queue_unavailable", "try again"), FIELDS).status == 400


def test_a_save_changes_only_what_its_page_showed():
    form = {"shown": "g1,g2,g3", "bind_g1": "on", "bind_g3": "on", "bind_g9": "on"}
    selection = Selection.of(form, "bind_")
    assert selection.chosen == {"g1", "g3"}  # g9 was not on the page: ignored
    assert selection.changes(bound={"g2", "g3", "g7"}) == (["g1"], ["g2"])  # g7 is on another page: kept


def test_textareas():
    assert lines({"acs": " https://a/acs \n\n https://b/acs\n"}, "acs") == ["https://a/acs", "https://b/acs"]
    assert lines({"acs": "  \n"}, "acs") is None
    assert key_values({"m": "userName = email\n name.givenName=firstname \n"}, "m") == {"userName": "email",
                                                                                       "name.givenName": "firstname"}
    with pytest.raises(DomainError) as caught:
        key_values({"m": "userName email"}, "m")
    assert "field 'm'" in caught.value.message
