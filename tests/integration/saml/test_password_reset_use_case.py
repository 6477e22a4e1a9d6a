"""The password lifecycle's public pages as a use case (idp.app.password_reset.PasswordReset; issue 24 item 1), handed
out by a container built from Settings on moto (test_user_lifecycle_http's world: the local mailbox, a clock): the
reset request answers nothing about the account, the link's form shows whose it is, a refused password keeps the link
and names the field, the link sets the password once, and every change carries the client's address. The routes
render these (test_user_lifecycle_http.py drives the same pages over HTTP)."""
from __future__ import annotations

import pytest

from idp.app.browser import Client
from idp.app.password_reset import LinkInvalid, LinkShown, PasswordRefused, PasswordSet
from idp.bootstrap import container
from idp_testing.lifecycle_http import BASE, NEW, lifecycle_world, link_in, mails, password_events, token_of


@pytest.fixture
def world(aws_env, monkeypatch):
    """The password lifecycle's world (idp_testing.lifecycle_http): the mailbox, a fake clock, Ada."""
    from idp import bootstrap

    yield lifecycle_world(monkeypatch)
    bootstrap.reset()

CLIENT = Client("198.51.100.77", "password-reset-test")


def test_a_reset_link_shows_its_form_refuses_bad_passwords_by_field_and_sets_one_once(world):
    reset = container().password_reset
    reset.request("nobody@example.com", base_url="https://idp.example.com", client=CLIENT)
    assert mails(world) == []  # an unknown account: no email, and the same answer (None)
    reset.request("ada", base_url=BASE, client=CLIENT)
    token = token_of(link_in(mails(world)[0]))  # the link starts at the base URL given
    assert reset.link(token) == LinkShown("ada", activation=False)
    assert reset.link("not-a-token") is None

    mismatch = reset.set_password(token, NEW, NEW + "x", client=CLIENT)
    assert isinstance(mismatch, PasswordRefused) and (mismatch.status, mismatch.field) == (400, "password_confirm")
    assert mismatch.link == LinkShown("ada", activation=False) and "field 'password_confirm'" in mismatch.message
    weak = reset.set_password(token, "password", "password", client=CLIENT)
    assert isinstance(weak, PasswordRefused) and weak.field == "password" and weak.status == 400
    assert reset.set_password(token, NEW, NEW, client=CLIENT) == PasswordSet()
    assert reset.set_password(token, NEW, NEW, client=CLIENT) == LinkInvalid()  # once
    assert reset.link(token) is None

    events = password_events(world, world.user["id"])
    assert {e["reason"] for e in events} >= {"reset", "reset_requested"}
    assert all(e["ip"] == CLIENT.ip for e in events if e["reason"] in ("reset", "reset_requested"))
