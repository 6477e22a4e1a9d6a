"""The CSV import's planner (idp.directory.csv_rows), pure: the file's shape, line numbers (blank lines and
quoted line breaks), every value checked as the admin API's user models check it, all errors of a row at once,
duplicates across the file, names taken by other users or in quarantine, updates that write only what differs."""
from __future__ import annotations

import pytest

from idp.directory import csv_rows
from idp.kernel.errors import DomainError

NOW = "2026-12-07T00:00:00Z"
ADA = {"id": "u-ada", "username": "ada", "email": "ada@example.com", "firstname": "Ada", "lastname": "Lovelace",
       "state": "ACTIVE"}


def directory(*users: dict, released: dict | None = None) -> csv_rows.Directory:
    by_login = {str(u[k]).lower(): u for u in users for k in ("username", "email")}
    return csv_rows.Directory(by_login, lambda names: {n: m for n, m in (released or {}).items() if n in names}, NOW)


def plan(text: str, *users: dict, released: dict | None = None) -> dict[int, csv_rows.PlannedRow]:
    table = csv_rows.read_csv(text.encode())
    return {r.row: r for r in csv_rows.plan(table, directory(*users, released=released)).rows}


def test_line_numbers_skip_blank_lines_and_follow_quoted_line_breaks():
    rows = plan('username,email,firstname,lastname,location\n\nb,b@example.com,B,C,"two\nlines"\nc,c@example.com,C,D,"Madrid, Spain"\n')
    assert sorted(rows) == [3, 5]
    # a line break is a control character (contract section 2): refused, naming the field
    assert rows[3].errors[0]["field"] == "location" and "U+000A" in rows[3].errors[0]["message"]
    assert rows[5].action == "create" and rows[5].fields["location"] == "Madrid, Spain"


def test_every_error_of_a_row_is_named_at_once():
    rows = plan("username,email,firstname,lastname,state\nbad name,nope,,,retired\n")
    fields = sorted(e["field"] for e in rows[2].errors)
    assert rows[2].action == "error" and fields == ["email", "firstname", "lastname", "state", "username"]


def test_control_characters_are_refused_naming_the_field():
    rows = plan("username,email,firstname,lastname\nz,z@example.com,Z\x07,Y\n")
    assert rows[2].errors == [{"field": "firstname", "message": "must not contain control characters (U+0007 at position 2)"}]


def test_an_update_writes_only_what_differs_and_an_empty_cell_keeps_the_field():
    rows = plan("username,email,firstname,lastname,title,state\nada,ada@example.com,Ada,,Countess,suspended\n", ADA)
    assert rows[2].action == "update" and rows[2].user_id == "u-ada"
    assert rows[2].fields == {"title": "Countess", "state": "SUSPENDED"}
    same = plan("username,firstname\nada,Ada\n", ADA)
    assert same[2].action == "unchanged"


def test_email_alone_finds_the_user_and_a_username_found_elsewhere_is_an_error():
    assert plan("email,title\nada@example.com,Countess\n", ADA)[2].action == "update"
    rows = plan("username,email,firstname,lastname\nada@example.com,x@example.com,X,Y\n", ADA)
    assert rows[2].errors[0]["field"] == "username" and "email of another user" in rows[2].errors[0]["message"]


def test_a_username_that_exists_with_another_email_changes_it_unless_the_email_is_taken():
    other = {"id": "u-bob", "username": "bob", "email": "bob@example.com"}
    assert plan("username,email\nada,new@example.com\n", ADA, other)[2].fields == {"email": "new@example.com"}
    rows = plan("username,email\nada,BOB@example.com\n", ADA, other)
    assert rows[2].action == "error" and rows[2].errors[0]["field"] == "email"


def test_a_login_name_twice_in_the_file_is_an_error_on_the_later_rows_in_one_namespace():
    rows = plan("username,email,firstname,lastname\nx,x@example.com,X,X\ny,X,Y,Y\nz,X@example.com,Z,Z\n")
    assert rows[2].action == "create"
    assert {"field": "email", "message": "'X' is also on line 2 of the file (usernames and emails are one namespace)"} in rows[3].errors
    assert rows[4].errors == [{"field": "email", "message": "'X@example.com' is also on line 2 of the file (usernames and emails are one namespace)"}]


def test_a_released_name_in_quarantine_is_an_error_but_not_for_its_owner():
    marker = {"owner": "u-gone", "released_at": "2026-12-01T00:00:00Z", "until": "2026-12-31T00:00:00Z"}
    rows = plan("username,email,firstname,lastname\nnew,old@example.com,N,N\n", released={"old@example.com": marker})
    assert rows[2].action == "error" and rows[2].errors[0]["field"] == "email" and "2026-12-31" in rows[2].errors[0]["message"]
    expired = {**marker, "until": "2026-12-06T00:00:00Z"}
    assert plan("username,email,firstname,lastname\nnew,old@example.com,N,N\n",
                released={"old@example.com": expired})[2].action == "create"


@pytest.mark.parametrize(("data", "status", "words"), [
    (b"   \n", 400, "empty"),
    (b"\xff\xfeu\x00", 400, "not UTF-8 text (byte 0xff at offset 0)"),
    (b"username,Username\na,b\n", 400, "appears twice"),
    (b"username,email\n" + b"".join(b"u%d,u%d@example.com\n" % (i, i) for i in range(10_001)), 413, "at most 10,000 rows"),
])
def test_a_bad_file_is_refused_as_a_whole(data, status, words):
    with pytest.raises(DomainError) as caught:
        csv_rows.read_csv(data)
    assert caught.value.status == status and words in caught.value.message


def test_exactly_10000_rows_are_taken():
    data = b"username,email\n" + b"".join(b"u%d,u%d@example.com\n" % (i, i) for i in range(10_000))
    assert len(csv_rows.read_csv(data).rows) == 10_000


def test_a_row_with_more_cells_than_the_header_is_an_error():
    rows = plan("username,email,firstname,lastname\nq,q@example.com,Q,Q,extra\n")
    assert rows[2].errors == [{"field": "row", "message": "has 5 cells; the header names 4 columns"}]
