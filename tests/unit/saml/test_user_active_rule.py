"""One rule for "the user is active" (idp.kernel.users.is_active), the same in every context that asks: the login,
a live session, an SSO answer, the provisioning plan and the sign-in diagnosis. A record without ``state`` is
ACTIVE (the directory's default); SUSPENDED, or a state the code does not know, is not."""
from __future__ import annotations

import pytest

from idp.kernel.diagnosis import SignInFacts, reasons
from idp.kernel.users import ACTIVE, is_active, state_is_active
from idp.provisioning.planner import plan_user
from idp.signon.login import LoggedIn, LoginSubmission, Refused
from idp.signon.models import PendingSignOn
from idp.signon.service import SignOn
from idp.signon.sso import Denied, Grant
from idp_testing.signon_fakes import FakeDirectory, FakeStore

BROWSER = "b" * 43
PASSWORD = "Violet-Harbor-Lantern-42"
ACS = "https://sp.example/acs"
APP = {"slug": "officespace", "label": "OfficeSpace", "sp_entity_id": "sp.example", "acs_urls": [ACS]}

CASES = [
    pytest.param(None, True, id="no-state-field"),
    pytest.param("ACTIVE", True, id="ACTIVE"),
    pytest.param("SUSPENDED", False, id="SUSPENDED"),
    pytest.param("DISABLED", False, id="unknown-state"),
    pytest.param("active", False, id="lower-case"),
]


def _user(state: str | None) -> dict:
    user = {"id": "u-1", "username": "ada", "email": "ada@example.com", "firstname": "Ada", "lastname": "Lovelace"}
    if state is not None:
        user["state"] = state
    return user


def _signon_with(state: str | None) -> tuple[FakeDirectory, FakeStore, SignOn]:
    directory, store = FakeDirectory(), FakeStore()
    directory.add("u-1", "ada", "ada@example.com", password=PASSWORD)
    directory.users["u-1"] = {**_user(state), "id": "u-1"}
    directory.bindings.add(("officespace", "u-1"))
    return directory, store, SignOn(directory, store)


@pytest.mark.parametrize("state,active", CASES)
def test_the_kernel_rule(state: str | None, active: bool) -> None:
    assert is_active(_user(state)) is active
    assert state_is_active(state if state is not None else ACTIVE) is active


@pytest.mark.parametrize("state,active", CASES)
def test_login_and_a_live_session_follow_the_rule(state: str | None, active: bool) -> None:
    _directory, store, signon = _signon_with(state)
    login = signon.begin_login(BROWSER)
    outcome = signon.login(LoginSubmission(login.login_id, login.csrf, BROWSER, "ada", PASSWORD, "198.51.100.7"))
    if active:
        assert isinstance(outcome, LoggedIn)
        assert signon.signed_in(outcome.signed_in.session_id) is not None
    else:
        assert outcome == Refused("user_suspended", "suspended user u-1 tried to sign in", uid="u-1")
        assert not store.sessions


@pytest.mark.parametrize("state,active", CASES)
def test_a_session_of_a_user_no_longer_active_ends(state: str | None, active: bool) -> None:
    directory, _store, signon = _signon_with(None)
    login = signon.begin_login(BROWSER)
    outcome = signon.login(LoginSubmission(login.login_id, login.csrf, BROWSER, "ada", PASSWORD, "198.51.100.7"))
    assert isinstance(outcome, LoggedIn)
    directory.users["u-1"] = {**_user(state), "id": "u-1"}
    assert (signon.signed_in(outcome.signed_in.session_id) is not None) is active


@pytest.mark.parametrize("state,active", CASES)
def test_sso_answers_only_an_active_user(state: str | None, active: bool) -> None:
    _directory, _store, signon = _signon_with(state)
    decided = signon.authorize(APP, _user(state), PendingSignOn.idp("officespace"))
    assert decided == (Grant(ACS, None, None) if active else Denied("user_suspended", "user u-1 suspended"))


@pytest.mark.parametrize("state,active", CASES)
def test_provisioning_and_the_diagnosis_follow_the_rule(state: str | None, active: bool) -> None:
    user = _user(state)
    assert plan_user(user, bound=True, provisioned=True).action == ("active" if active else "inactive")
    facts = SignInFacts(user_state=str(user.get("state", ACTIVE)), direct=True, acs_urls=(ACS,))
    assert reasons(facts) == ([] if active else ["suspended"])
