"""The login flow (idp.signon.login) over in-memory ports: each stage's decision, and its order."""
from __future__ import annotations

import pytest

from idp.signon import login
from idp.signon.login import LoggedIn, LoginSubmission, Refused, ShowForm
from idp.signon.models import PendingSignOn
from idp.signon.service import SignOn
from idp_testing.signon_fakes import FakeDirectory, FakeMetrics, FakeStore

BROWSER = "b" * 43
KEY = b"k" * 32


@pytest.fixture
def world():
    directory, store = FakeDirectory(), FakeStore()
    directory.add("u-1", "ada", "ada@example.com", password="Corr3ct")
    return directory, store, SignOn(directory, store, device_key=lambda: KEY, clock=store.clock, metrics=FakeMetrics())


def _submit(signon: SignOn, state, **kw) -> login.Outcome:
    fields = dict(login_id=state.login_id, csrf=state.csrf, browser=BROWSER, username="ada", password="Corr3ct",
                  client="198.51.100.7", old_session=None)
    fields.update(kw)
    return signon.login(LoginSubmission(**fields))


def test_password_login_starts_a_session_and_resumes_the_pending_request(world):
    directory, store, signon = world
    pending = PendingSignOn.sp("officespace", "_req1", "https://sp.example/acs", "rs", False)
    state = signon.begin_login(BROWSER, pending)
    store.record_failure("source", "u-1#ip:198.51.100.7")
    store.record_failure("account", "u-1")
    old_sid, _ = store.create_session("u-1")

    outcome = _submit(signon, state, old_session=old_sid)

    assert isinstance(outcome, LoggedIn)
    assert outcome.pending == pending
    assert outcome.signed_in.user["id"] == "u-1" and outcome.signed_in.session_id in store.sessions
    assert old_sid not in store.sessions  # the old session is ended: a fresh id, never the pre-login one
    assert state.login_id not in store.logins  # a login state is used once
    assert ("source", "u-1#ip:198.51.100.7") not in store.failures()  # this browser's address: a clean slate
    assert ("account", "u-1") not in store.failures()  # every failure was this source's: forgotten too


def test_login_by_email_case_insensitive_counts_as_the_user(world):
    directory, _store, signon = world
    outcome = _submit(signon, signon.begin_login(BROWSER), username="  ADA@example.com ")
    assert isinstance(outcome, LoggedIn) and outcome.signed_in.uid == "u-1"
    assert directory.lookups == ["ADA@example.com"]  # one namespace: one lookup resolves either
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
    assert not store.sessions and not store.failures()


@pytest.mark.parametrize("username,password", [("", "x"), ("   ", "x"), ("ada", "")])
def test_missing_credentials_show_the_form_again(world, username, password):
    directory, store, signon = world
    state = signon.begin_login(BROWSER)
    outcome = _submit(signon, state, username=username, password=password)
    assert outcome == ShowForm(state, "missing_credentials", username.strip())
    assert directory.verified == [] and not store.failures()


def test_wrong_password_counts_against_the_account_from_this_address(world):
    directory, store, signon = world
    state = signon.begin_login(BROWSER)
    outcome = _submit(signon, state, username="Ada", password="nope")
    assert outcome == ShowForm(state, "wrong_credentials", "Ada")
    assert store.failures() == {("source", "u-1#ip:198.51.100.7"): 1, ("account", "u-1"): 1, ("ip", "198.51.100.7"): 1}
    assert state.login_id in store.logins and not store.sessions  # the same form may be tried again
    assert signon.metrics.failures == ["wrong_credentials"]  # one LoginFailures datum per failure


def test_unknown_user_looks_like_a_wrong_password_and_still_spends_a_hash(world):
    directory, store, signon = world
    state = signon.begin_login(BROWSER)
    outcome = _submit(signon, state, username="nobody")
    assert outcome == ShowForm(state, "wrong_credentials", "nobody")
    assert directory.verified == [None]  # verify_password ran (against no hash): timing does not tell
    (account,) = [key for kind, key in store.failures() if kind == "account"]
    assert account.startswith("?") and "nobody" not in account  # throttled like a real account, by a hash


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


# ---------------------------------------------------------------------------- throttling (issue 11, item 1)

ATTACKER = "203.0.113.66"


def _signed_in_browser(signon, store):
    """The user signs in from their own browser once: it gets a device cookie."""
    outcome = _submit(signon, signon.begin_login(BROWSER))
    assert isinstance(outcome, LoggedIn) and outcome.device_cookie
    return outcome.device_cookie


def _attack(signon, n, username="ada", client=ATTACKER, clock=None, step=0):
    outcomes = []
    for _ in range(n):
        outcomes.append(_submit(signon, signon.begin_login("a" * 43), browser="a" * 43, username=username,
                                password="guess", client=client))
        if clock is not None:
            clock.t += step
    return outcomes


def _botnet(signon, n, username="ada"):
    """Failures for the account from ``n`` addresses, one each (never enough for one address's throttle)."""
    return [_attack(signon, 1, username=username, client=f"203.0.{i // 250}.{i % 250 + 1}")[0] for i in range(n)]


def test_failures_from_elsewhere_never_stop_the_user_on_their_own_browser(world):
    """Any number of failures for the account from another address (and then its own address, with no
    device cookie) leave the user's browser that signed in before free to sign in with the right password."""
    directory, store, signon = world
    device = _signed_in_browser(signon, store)
    _attack(signon, 200, clock=store.clock, step=1)
    _botnet(signon, 100)
    _attack(signon, 200, client="198.51.100.7", clock=store.clock, step=1)  # even from the user's own address
    assert store.throttle("account", "u-1").wait > 0  # the account is throttled for unknown browsers
    outcome = _submit(signon, signon.begin_login(BROWSER), device=device)
    assert isinstance(outcome, LoggedIn) and outcome.signed_in.uid == "u-1"


def test_the_throttle_delays_progressively_and_says_how_long(world):
    directory, store, signon = world
    outcomes = _attack(signon, 5)
    assert [o.reason for o in outcomes] == ["wrong_credentials"] * 5
    assert [o.retry_after for o in outcomes] == [0, 0, 0, 0, 30]  # the fifth failure from one address: wait 30 s
    verified = len(directory.verified)
    blocked = _submit(signon, signon.begin_login("a" * 43), browser="a" * 43, client=ATTACKER)  # right password
    assert blocked.reason == "throttled" and blocked.retry_after == 30 and not store.sessions
    assert len(directory.verified) == verified  # the password is not even checked while throttled
    assert signon.metrics.failures[-1] == "throttled"
    store.clock.t += 30
    (after,) = _attack(signon, 1)
    assert after.reason == "wrong_credentials" and after.retry_after == 60  # doubles each time
    store.clock.t += 60
    assert isinstance(_submit(signon, signon.begin_login("a" * 43), browser="a" * 43, client=ATTACKER), LoggedIn)


def test_the_delay_is_capped_and_forgotten_after_a_quiet_window(world):
    directory, store, signon = world
    for _ in range(20):
        (o,) = _attack(signon, 1)
        store.clock.t += o.retry_after
    assert o.retry_after == store.policy.max_delay == 15 * 60
    store.clock.t += store.policy.failure_window
    assert store.throttle("source", f"u-1#ip:{ATTACKER}").failures == 0


def test_failures_count_by_the_resolved_account_whatever_was_typed(world):
    directory, store, signon = world
    for typed in ("ada", "ADA", "ada@example.com", " Ada@Example.COM "):
        _attack(signon, 1, username=typed)
    assert store.throttle("source", f"u-1#ip:{ATTACKER}").failures == 4
    assert store.throttle("account", "u-1").failures == 4


def test_the_account_throttle_holds_for_unknown_browsers_from_many_addresses(world):
    directory, store, signon = world
    _botnet(signon, store.policy.account_max_failures)  # never five from one address
    fresh = _submit(signon, signon.begin_login("c" * 43), browser="c" * 43, client="192.0.2.200")
    assert fresh.reason == "throttled" and fresh.retry_after == 30


def test_a_success_resets_its_own_source_not_the_attackers(world):
    directory, store, signon = world
    device = _signed_in_browser(signon, store)
    _attack(signon, 3)
    for _ in range(2):  # the user mistypes twice in their own browser
        _submit(signon, signon.begin_login(BROWSER), device=device, password="typo")
    assert isinstance(_submit(signon, signon.begin_login(BROWSER), device=device), LoggedIn)
    failures = store.failures()
    assert not [k for k in failures if k[0] == "source" and "#dev:" in k[1]]  # the browser's own slate is clean
    assert failures[("source", f"u-1#ip:{ATTACKER}")] == 3 and failures[("account", "u-1")] == 3


def test_a_device_cookie_counts_only_for_its_own_account_and_key(world):
    directory, store, signon = world
    directory.add("u-2", "bob", "bob@example.com", password="Bobs-Pw")
    device = _signed_in_browser(signon, store)  # ada's browser
    _botnet(signon, 30, username="bob")
    for cookie in (device, device[:-2] + "xx", "v1.junk", ""):
        outcome = _submit(signon, signon.begin_login(BROWSER), device=cookie, username="bob", password="Bobs-Pw")
        assert outcome.reason == "throttled", cookie  # ada's cookie (or a forged one) does not free bob
    other_key = SignOn(directory, store, device_key=lambda: b"x" * 32, clock=store.clock, metrics=FakeMetrics())
    _botnet(other_key, 30)
    assert _submit(other_key, other_key.begin_login(BROWSER), device=device).reason == "throttled"


def test_no_device_key_means_no_device_cookie_but_logins_work(world):
    directory, store, _signon = world
    signon = SignOn(directory, store, device_key=lambda: None, clock=store.clock, metrics=FakeMetrics())
    outcome = _submit(signon, signon.begin_login(BROWSER))
    assert isinstance(outcome, LoggedIn) and outcome.device_cookie is None


def test_a_device_cookie_expires(world):
    directory, store, signon = world
    device = _signed_in_browser(signon, store)
    store.clock.t += store.policy.device_lifetime + 1
    _botnet(signon, 30)
    assert _submit(signon, signon.begin_login(BROWSER), device=device).reason == "throttled"

