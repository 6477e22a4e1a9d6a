"""The sign-on service (idp.signon.service) and the SSO decisions (idp.signon.sso) over in-memory ports."""
from __future__ import annotations

import pytest

from idp.kernel.tokens import hash_token
from idp.saml import constants as C
from idp.signon.models import PendingSignOn
from idp.signon.service import SignOn
from idp.signon.sso import Denied, Grant, Step, answer_to, next_step, passive_denied, unsatisfiable
from idp_testing.signon_fakes import FakeDirectory, FakeStore

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


@pytest.mark.parametrize("app_nameid,nameid,indexes,code", [
    ("email", "ada@example.com", ("_s1",), "ended"),
    ("email", "ada@example.com", ("_other", "_s1"), "ended"),
    ("username", "ada", ("_s1",), "ended"),
    ("email", None, ("_s1",), "nameid_mismatch"),  # a NameID is required
    ("email", "eve@example.com", ("_s1",), "nameid_mismatch"),
    ("email", "ada", ("_s1",), "nameid_mismatch"),
    ("email", "ada@example.com", (), "session_index_mismatch"),  # a SessionIndex is required
    ("email", "ada@example.com", ("_s999",), "session_index_mismatch"),
])
def test_single_logout_ends_the_session_only_when_nameid_and_session_index_match(world, app_nameid, nameid, indexes, code):
    _directory, store, signon = world
    sid, _ = store.create_session("u-1")  # session index _s1
    app = {**APP, "nameid": app_nameid}
    result = signon.single_logout(signon.signed_in(sid), app, nameid, indexes)
    assert result.code == code and result.ended is (code == "ended") and result.message
    assert (sid not in store.sessions) is result.ended
    assert signon.single_logout(None, app, nameid, indexes).code == "no_session"


def test_end_sessions_ends_every_session_of_the_user_at_once(world):
    directory, store, signon = world
    directory.add("u-2", "bob", "bob@example.com")
    sids = [store.create_session("u-1")[0] for _ in range(3)]
    bobs, _ = store.create_session("u-2")
    signon.end_sessions("u-1", reason="revoked")
    assert all(signon.signed_in(sid) is None for sid in sids)
    assert not any(sid in store.sessions for sid in sids)  # ended where met, not just ignored
    assert signon.signed_in(bobs) is not None  # only that user's
    fresh, _ = store.create_session("u-1")
    assert signon.signed_in(fresh).uid == "u-1"  # a login after the revocation counts


def test_an_unsuspended_users_old_session_stays_dead(world):
    directory, store, signon = world
    sid, _ = store.create_session("u-1")
    directory.users["u-1"]["state"] = "SUSPENDED"
    signon.end_sessions("u-1", reason="suspended")
    directory.users["u-1"]["state"] = "ACTIVE"
    store.sessions[sid]["uid"] = "u-1"  # even if the session item had survived somewhere
    assert signon.signed_in(sid) is None


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


# ---------------------------------------------------------------------------- requests the IdP cannot satisfy

PPT = C.AC_PASSWORD_PROTECTED_TRANSPORT
UNSPEC_AC = "urn:oasis:names:tc:SAML:2.0:ac:classes:unspecified"
MFA = "https://refeds.org/profile/mfa"


@pytest.mark.parametrize("app_nameid,fmt,ok", [
    ("email", None, True),
    ("email", C.NAMEID_EMAIL, True),
    ("email", C.NAMEID_UNSPECIFIED, True),
    ("email", C.NAMEID_PERSISTENT, False),
    ("email", C.NAMEID_TRANSIENT, False),
    ("username", C.NAMEID_UNSPECIFIED, True),
    ("username", C.NAMEID_EMAIL, False),
])
def test_nameid_policy_the_app_cannot_produce_is_invalid_nameid_policy(app_nameid, fmt, ok):
    status = unsatisfiable({**APP, "nameid": app_nameid}, nameid_format=fmt, authn_contexts=(), comparison=None)
    if ok:
        assert status is None
    else:
        assert (status.code, status.sub_code) == (C.STATUS_REQUESTER, C.STATUS_INVALID_NAMEID_POLICY) and fmt in status.message
        assert status.reason == "invalid_nameid_policy"


@pytest.mark.parametrize("contexts,comparison,decl,ok", [
    ((), None, False, True),
    ((PPT,), None, False, True),
    ((PPT,), "exact", False, True),
    ((PPT,), "minimum", False, True),
    ((UNSPEC_AC,), "minimum", False, True),
    ((MFA, PPT), "exact", False, True),  # one of them is enough
    ((MFA,), "exact", False, True),  # the REFEDS MFA profile: met by a step-up (sso.mfa_requested)
    ((MFA,), "minimum", False, True),
    ((PPT,), "better", False, False),
    ((PPT,), "maximum", False, False),
    ((), "exact", True, False),  # an AuthnContextDeclRef: nothing this IdP can match
    (("urn:oasis:names:tc:SAML:2.0:ac:classes:Kerberos",), "exact", False, False),
])
def test_requested_authn_context_the_idp_cannot_satisfy_is_no_authn_context(contexts, comparison, decl, ok):
    status = unsatisfiable(APP, nameid_format=None, authn_contexts=contexts, comparison=comparison, decl_refs=decl)
    if ok:
        assert status is None
    else:
        assert (status.code, status.sub_code) == (C.STATUS_RESPONDER, C.STATUS_NO_AUTHN_CONTEXT) and status.message
        assert status.reason == "no_authn_context"  # not mfa_required, though the message names the REFEDS profile


def test_a_passive_request_for_a_refused_user_is_request_denied():
    for denied in (Denied("access_denied", "x"), Denied("user_suspended", "y")):
        status = passive_denied(denied)
        assert (status.code, status.sub_code) == (C.STATUS_RESPONDER, C.STATUS_REQUEST_DENIED) and status.message
        assert status.reason == "request_denied"
    assert passive_denied(Denied("acs_not_registered")) is None  # never answered to an unregistered ACS
