"""The login flow (idp.signon.login) over in-memory ports: each stage's decision, and its order."""
from __future__ import annotations

import pytest
from signon_fakes import FakeDirectory, FakeStore

from idp.signon import login
from idp.signon.login import LoggedIn, LoginSubmission, Refused, ShowForm
from idp.signon.models import PendingSignOn
from idp.signon.service import SignOn

BROWSER = "b" * 43


@pytest.fixture
def world():
    directory, store = FakeDirectory(), FakeStore()
    directory.add("u-1", "ada", "ada@example.com", password="Corr3ct")
    return directory, store, SignOn(directory, store)


def _submit(signon: SignOn, state, **kw) -> login.Outcome:
    fields = dict(login_id=state.login_id, csrf=state.csrf, browser=BROWSER, username="ada", password="Corr3ct",
                  client="198.51.100.7", old_session=None)
    fields.update(kw)
    return signon.login(LoginSubmission(**fields))


def test_password_login_starts_a_session_and_resumes_the_pending_request(world):
    directory, store, signon = world
    pending = PendingSignOn.sp("officespace", "_req1", "https://sp.example/acs", "rs", False)
    state = signon.begin_login(BROWSER, pending)
    store.failures[("user", "ada")] = 2
    old_sid, _ = store.create_session("u-1")

    outcome = _submit(signon, state, old_session=old_sid)

    assert isinstance(outcome, LoggedIn)
    assert outcome.pending == pending
    assert outcome.signed_in.user["id"] == "u-1" and outcome.signed_in.session_id in store.sessions
    assert old_sid not in store.sessions  # the old session is ended: a fresh id, never the pre-login one
    assert state.login_id not in store.logins  # a login state is used once
    assert ("user", "ada") not in store.failures


def test_login_by_email_case_insensitive_counts_as_the_user(world):
    directory, _store, signon = world
    outcome = _submit(signon, signon.begin_login(BROWSER), username="  ADA@example.com ")
    assert isinstance(outcome, LoggedIn) and outcome.signed_in.uid == "u-1"
    assert directory.lookups == [("username", "ADA@example.com"), ("email", "ADA@example.com")]
    assert outcome.pending == PendingSignOn()  # nothing pending: the portal


@pytest.mark.parametrize("change,reason", [
    ({"csrf": None}, "no csrf token"),
    ({"login_id": None}, "no login state"),
    ({"login_id": "unknown"}, "no login state"),
    ({"browser": None}, "no browser cookie"),
    ({"browser": "c" * 43}, "csrf token or browser mismatch"),
    ({"csrf": "forged"}, "csrf token or browser mismatch"),
])
def test_form_must_belong_to_this_browser_and_state(world, change, reason):
    _directory, store, signon = world
    state = signon.begin_login(BROWSER)
    outcome = _submit(signon, state, **change)
    assert outcome == Refused("csrf_failed", f"login csrf check failed: {reason}")
    assert not store.sessions and not store.failures


@pytest.mark.parametrize("username,password", [("", "x"), ("   ", "x"), ("ada", "")])
def test_missing_credentials_show_the_form_again(world, username, password):
    directory, store, signon = world
    state = signon.begin_login(BROWSER)
    outcome = _submit(signon, state, username=username, password=password)
    assert outcome == ShowForm(state, "missing_credentials", username.strip())
    assert directory.verified == [] and not store.failures


def test_wrong_password_counts_against_the_name_and_the_address(world):
    directory, store, signon = world
    state = signon.begin_login(BROWSER)
    outcome = _submit(signon, state, username="Ada", password="nope")
    assert outcome == ShowForm(state, "wrong_credentials", "Ada")
    assert store.failures == {("user", "ada"): 1, ("ip", "198.51.100.7"): 1}
    assert state.login_id in store.logins and not store.sessions  # the same form may be tried again


def test_unknown_user_looks_like_a_wrong_password_and_still_spends_a_hash(world):
    directory, store, signon = world
    state = signon.begin_login(BROWSER)
    outcome = _submit(signon, state, username="nobody")
    assert outcome == ShowForm(state, "wrong_credentials", "nobody")
    assert directory.verified == [None]  # verify_password ran (against no hash): timing does not tell
    assert store.failures[("user", "nobody")] == 1


@pytest.mark.parametrize("kind,key", [("user", "ada"), ("ip", "198.51.100.7")])
def test_locked_out_refused_before_the_password_is_checked(world, kind, key):
    directory, store, signon = world
    store.locked[(kind, key)] = 61
    outcome = _submit(signon, signon.begin_login(BROWSER))
    assert outcome == Refused("locked_out", "lockout user='ada' ip=198.51.100.7", retry_after=61)
    assert directory.verified == [] and not store.sessions


def test_suspended_user_refused_after_the_right_password(world):
    directory, store, signon = world
    directory.users["u-1"]["state"] = "SUSPENDED"
    outcome = _submit(signon, signon.begin_login(BROWSER))
    assert outcome == Refused("user_suspended", "suspended user u-1 tried to sign in", uid="u-1")
    assert not store.sessions


def test_a_stage_added_before_the_session_decides_first(world):
    """The shape a second factor takes: one more stage that shows its own form before the session starts."""
    _directory, store, _signon = world

    def second_factor(ctx):
        assert ctx.uid == "u-1" and ctx.user["username"] == "ada"  # what the earlier stages found
        return ShowForm(ctx.state, "code_required", ctx.username)

    stages = login.PASSWORD_LOGIN[:-1] + (second_factor, login.PASSWORD_LOGIN[-1])
    signon = SignOn(_directory, store, stages=stages)
    state = signon.begin_login(BROWSER)
    assert _submit(signon, state) == ShowForm(state, "code_required", "ada")
    assert not store.sessions


def test_a_flow_without_a_final_stage_is_an_error(world):
    directory, store, _signon = world
    signon = SignOn(directory, store, stages=login.PASSWORD_LOGIN[:-1])
    with pytest.raises(RuntimeError, match="ended without a decision"):
        _submit(signon, signon.begin_login(BROWSER))
