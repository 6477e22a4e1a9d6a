"""The login pages and the portal as use cases (idp.app.login_pages.LoginPages, idp.app.portal.Portal; issue 24
item 1), handed out by the login function's container built from Settings on moto: GET /login's typed answers (this
browser's form, a new one, already signed in), the form after a try (its app's label, the password again before a
change of sign-in methods, the second step's factors), the MFA gate of the IdP's own pages, signing out with the
session's CSRF token, the cookies' rules from the settings, and the portal's apps through the access rule (direct
and group bindings, bookmarks). The routes render these (test_saml_lambda_routes.py, test_mfa_http.py and
test_saml_http_flow.py drive the same pages over HTTP)."""
from __future__ import annotations

import time

from idp.app.browser import Client
from idp.app.login_pages import AlreadySignedIn, CookieRules, LoginForm, NewForm
from idp.app.portal import PortalApp
from idp.bootstrap import container
from idp.kernel.audit import API_ADMIN
from idp.signon.mfa import totp
from idp.signon.mfa.policy import Need
from idp.signon.mfa.policy_body import MfaPolicySettings
from idp.signon.models import PendingSignOn
from idp_testing.lambda_client import LambdaClient
from idp_testing.mfa_http import signed_in

BROWSER = "c" * 32
CLIENT = Client("198.51.100.41", "login-pages-test")


def _session(world) -> str:
    c = signed_in(world)
    return next(v for k, v in c.jar.items() if k.endswith("idp_session"))


def _policy(**body) -> None:
    container().mfa_admin.set_policy(MfaPolicySettings(**{"policy": "optional", "grace_days": 0,
                                                          "methods": ["totp", "webauthn"], **body}),
                                     actor=API_ADMIN, client=CLIENT)


def test_get_login_answers_this_browsers_form_a_new_one_or_already_signed_in(world):
    pages = container().login_pages
    fresh = pages.page(None, BROWSER, new_browser=True, session_id=None)
    assert isinstance(fresh, NewForm) and not fresh.restarted and fresh.form.state.uid is None
    lid = fresh.form.state.login_id
    again = pages.page(lid, BROWSER, new_browser=False, session_id=None)
    assert isinstance(again, LoginForm) and again.state.login_id == lid and again.state.csrf == fresh.form.state.csrf
    other = pages.page(lid, "another-browser-" + "z" * 20, new_browser=False, session_id=None)
    assert isinstance(other, NewForm) and other.restarted and other.form.state.login_id != lid  # never another's form
    assert pages.page(None, BROWSER, new_browser=False, session_id=_session(world)) == AlreadySignedIn()


def test_the_form_names_its_app_asks_the_password_again_for_the_account_and_offers_passkeys_by_policy(world):
    pages = container().login_pages
    for_app = pages.form(pages.begin(BROWSER, PendingSignOn.idp("officespace")))
    assert (for_app.app_label, for_app.reauth, for_app.passkeys, for_app.second_step) == ("OfficeSpace", False, True, False)
    reauth = pages.form(pages.begin(BROWSER, PendingSignOn.account()))
    assert (reauth.app_label, reauth.reauth, reauth.passkeys) == (None, True, False)  # the password, typed
    _policy(methods=["totp"])
    assert pages.form(pages.begin(BROWSER, None)).passkeys is False


def test_a_step_up_form_is_the_second_step_with_the_users_factors_and_the_gate_says_what_is_missing(world):
    pages, account = container().login_pages, container().my_account
    current = account.signed_in(_session(world))
    assert pages.mfa_need(current, PendingSignOn.idp("open")) is Need.NONE  # the policy is off
    setup = account.begin_totp(current)
    added = account.confirm_totp(current, setup.factor_id, totp.code_at(setup.secret, time.time()), ip=None)
    assert pages.mfa_need(current, PendingSignOn.console("/console")) is Need.VERIFY  # the console always asks
    assert pages.mfa_need(added.renewed, PendingSignOn.console("/console")) is Need.NONE  # this session passed it
    step = pages.form(pages.step_up(BROWSER, current.session, PendingSignOn.console("/console")))
    assert step.second_step and step.state.uid == current.uid
    assert (step.has_totp, step.has_passkey) == (True, False)
    paused = pages.pause_for_enrolment(BROWSER, current.uid, PendingSignOn.idp("open"))
    assert account.paused_sign_in(added.renewed, [paused.login_id], BROWSER) == paused.login_id


def test_sign_out_needs_the_sessions_csrf_token(world):
    pages, account = container().login_pages, container().my_account
    sid = _session(world)
    current = account.signed_in(sid)
    assert pages.sign_out(sid, "not-the-token", client=CLIENT) is False and account.signed_in(sid) is not None
    assert pages.sign_out(sid, current.session.csrf, client=CLIENT) is True and account.signed_in(sid) is None


def test_the_cookie_rules_come_from_the_settings(world):
    s = container().settings
    assert container().cookie_rules == CookieRules(s.idp_insecure_cookies, s.idp_session_lifetime_seconds,
                                                   container().signon.device_lifetime, s.idp_login_state_seconds)


def test_the_portal_lists_the_apps_the_user_may_open_direct_group_and_bookmark(world):
    portal, directory, apps = container().portal, container().directory, container().apps
    assert portal.of(None) is None and portal.of("no-such-session") is None
    uid = world.user["id"]
    apps.create({"slug": "wiki", "label": "a Wiki", "template": "officespace", "sp_entity_id": "wiki.example.com",
                 "acs_urls": ["https://wiki.example.com/acs"], "bookmark_url": "https://wiki.example.com/home"})
    apps.create({"slug": "hidden", "label": "Hidden", "template": "officespace", "sp_entity_id": "hidden.example.com",
                 "acs_urls": ["https://hidden.example.com/acs"]})
    group = directory.create_group({"name": "Readers"})
    directory.add_member(group["id"], uid)
    directory.bind_group("wiki", group["id"], bind=True)
    view = portal.of(_session(world))
    assert view is not None and view.user_label == "Ada Lovelace (ada@example.com)" and view.csrf
    assert view.apps == (PortalApp("wiki", "a Wiki", "https://wiki.example.com/home", True),  # by label, any case
                         PortalApp("officespace", "OfficeSpace", "/saml2/officespace", False),
                         PortalApp("open", "Open", "/saml2/open", False))
    page = LambdaClient(world.resolver)
    assert page.request("GET", "/").path == "/login"  # nobody signed in: the login page
