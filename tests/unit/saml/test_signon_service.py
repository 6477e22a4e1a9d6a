"""The sign-on service (idp.signon.service) and the SSO decisions (idp.signon.sso) over in-memory ports."""
from __future__ import annotations

import pytest
from signon_fakes import FakeDirectory, FakeStore

from idp.kernel.tokens import hash_token
from idp.signon.models import PendingSignOn
from idp.signon.service import SignOn
from idp.signon.sso import Denied, Grant, Step, answer_to, next_step

ACS, ACS_2 = "https://sp.example/acs", "https://sp.example/acs2"
APP = {"slug": "officespace", "label": "OfficeSpace", "sp_entity_id": "sp.example", "acs_urls": [ACS, ACS_2],
       "default_relay_state": "/floorplans"}


@pytest.fixture
def world():
    directory, store = FakeDirectory(), FakeStore()
    directory.add("u-1", "ada", "ada@example.com")
    directory.bindings.add(("officespace", "u-1"))
    return directory, store, SignOn(directory, store)


@pytest.mark.parametrize("signed_in,force,passive,step", [
    (False, False, False, Step.LOGIN),
    (True, False, False, Step.ISSUE),
    (True, True, False, Step.LOGIN),  # ForceAuthn: log in again
    (False, False, True, Step.NO_PASSIVE),  # IsPassive never shows a form
    (True, False, True, Step.ISSUE),
    (True, True, True, Step.NO_PASSIVE),
    (False, True, True, Step.NO_PASSIVE),
])
def test_next_step(signed_in, force, passive, step):
    assert next_step(signed_in=signed_in, force_authn=force, is_passive=passive) is step


def test_answer_to_sp_initiated_uses_the_checked_acs_and_request():
    pending = PendingSignOn.sp("officespace", "_r1", ACS_2, "rs", False)
    assert answer_to(APP, pending) == Grant(ACS_2, "rs", "_r1")


def test_answer_to_idp_initiated_uses_first_acs_and_default_relay_state():
    assert answer_to(APP, PendingSignOn.idp("officespace")) == Grant(ACS, "/floorplans", None)
    assert answer_to({**APP, "default_relay_state": ""}, PendingSignOn.idp("officespace")) == Grant(ACS, None, None)


@pytest.mark.parametrize("app", [{**APP, "acs_urls": [ACS_2]}, {**APP, "acs_urls": []}])
def test_answer_to_refuses_an_acs_no_longer_registered(app):
    pending = PendingSignOn.sp("officespace", "_r1", ACS, None, False)
    assert answer_to(app, pending) == Denied("acs_not_registered")
    if not app["acs_urls"]:
        assert answer_to(app, PendingSignOn.idp("officespace")) == Denied("acs_not_registered")


def test_authorize(world):
    directory, _store, signon = world
    user = directory.get_user("u-1")
    assert signon.authorize(APP, user, PendingSignOn.idp("officespace")) == Grant(ACS, "/floorplans", None)
    assert signon.authorize({**APP, "slug": "other"}, user, PendingSignOn.idp("other")) == \
        Denied("access_denied", "user u-1 not bound to app other")
    assert signon.authorize(APP, {**user, "state": "SUSPENDED"}, PendingSignOn.idp("officespace")) == \
        Denied("user_suspended", "user u-1 suspended")


def test_signed_in_only_for_a_live_session_of_an_active_user(world):
    directory, store, signon = world
    assert signon.signed_in(None) is None and signon.signed_in("no-such-session") is None
    sid, _ = store.create_session("u-1")
    current = signon.signed_in(sid)
    assert current.uid == "u-1" and current.user["email"] == "ada@example.com" and current.session.session_index
    directory.users["u-1"]["state"] = "SUSPENDED"
    assert signon.signed_in(sid) is None
    assert sid not in store.sessions  # ended, not just ignored
    sid, _ = store.create_session("u-gone")
    assert signon.signed_in(sid) is None and sid not in store.sessions


def test_sign_out_needs_the_sessions_csrf_token(world):
    _directory, store, signon = world
    sid, item = store.create_session("u-1")
    assert signon.sign_out(sid, None) is False and signon.sign_out(sid, "forged") is False
    assert sid in store.sessions
    assert signon.sign_out(sid, item["csrf"]) is True and sid not in store.sessions
    assert signon.sign_out("dead-session", None) is True  # nothing live to protect: the cookie is just cleared
    assert signon.sign_out(None, None) is True


@pytest.mark.parametrize("app_nameid,nameid,ended", [
    ("email", "ada@example.com", True),
    ("email", None, True),
    ("email", "eve@example.com", False),
    ("email", "ada", False),
    ("username", "ada", True),
])
def test_single_logout_ends_the_session_only_for_the_users_nameid(world, app_nameid, nameid, ended):
    _directory, store, signon = world
    sid, _ = store.create_session("u-1")
    app = {**APP, "nameid": app_nameid}
    assert signon.single_logout(signon.signed_in(sid), app, nameid) is ended
    assert (sid not in store.sessions) is ended
    assert signon.single_logout(None, app, nameid) is False


def test_begin_login_and_login_form_are_bound_to_one_browser(world):
    _directory, store, signon = world
    pending = PendingSignOn.sp("officespace", "_r1", ACS, None, True)
    state = signon.begin_login("browser-one-token-xxxxxxxx", pending)
    assert store.logins[state.login_id]["pending"] == {**pending.to_item(), "browser": hash_token("browser-one-token-xxxxxxxx")}
    again = signon.login_form(state.login_id, "browser-one-token-xxxxxxxx")
    assert again == state and again.pending == pending
    assert signon.login_form(state.login_id, "browser-two-token-xxxxxxxx") is None
    assert signon.login_form("unknown", "browser-one-token-xxxxxxxx") is None and signon.login_form(None, "x") is None


def test_replay_check_is_per_app(world):
    _directory, _store, signon = world
    seen = signon.replay_check("officespace")
    assert seen("_r1") is False and seen("_r1") is True
    assert signon.replay_check("other")("_r1") is False


def test_pending_round_trips_through_its_stored_form():
    for pending in (PendingSignOn.sp("a", "_r", ACS, None, True), PendingSignOn.idp("a"), PendingSignOn()):
        assert PendingSignOn.from_item(pending.to_item()) == pending
    assert PendingSignOn().to_item() == {} and PendingSignOn.idp("a").to_item() == {"kind": "idp", "slug": "a"}
