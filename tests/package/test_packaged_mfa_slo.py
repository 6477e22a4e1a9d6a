"""Multi-factor sign-in and single logout through the built login function, under its role rendered from
template.yaml (IAM enforced by the `invoke` fixture of conftest.py): TOTP enrolment on /account and a sign-in with
a code (pyotp as the user's authenticator app), a passkey added on /account and a passwordless sign-in with it (a
software authenticator), SP-initiated Single Logout in both bindings (a signed LogoutRequest answered with a signed
LogoutResponse) and the IdP's own logout (POST /logout). Each path also runs once with one permission taken from
the role, and then it fails."""
from __future__ import annotations

import json
import re
import time
import urllib.parse

import pyotp
import pytest
from packaged_stack import sample
from test_packaged_functions import LOGIN_PASSWORD, _admin, _form_fields, _login_event

pytestmark = pytest.mark.package

LOGIN = "SamlLoginFunction"
BASE_URL = "https://" + sample("http_saml_login.json")["requestContext"]["domainName"]  # the IdP's host: the RP ID
MFA_POLICY = {"policy": "optional", "grace_days": 7, "methods": ["totp", "webauthn"]}


class Browser:
    """One browser's cookie jar over the login function: each request is one invocation of the built function."""

    def __init__(self, invoke):
        self.invoke, self.jar = invoke, {}

    def __call__(self, path: str, method: str = "GET", form: dict | None = None, *, query: str = "") -> dict:
        event = _login_event(path, [f"{k}={v}" for k, v in self.jar.items()], method, form)
        if query:
            event["rawQueryString"] = query
            event["queryStringParameters"] = dict(urllib.parse.parse_qsl(query))
        (answer,) = self.invoke(LOGIN, [event])
        for raw in answer.get("cookies", []):
            name, _, rest = raw.partition("=")
            value = rest.split(";", 1)[0]
            if value and "max-age=0" not in raw.lower():
                self.jar[name] = value
            else:
                self.jar.pop(name, None)
        return answer

    @property
    def has_session(self) -> bool:
        return any("session" in name for name in self.jar)

    def sign_in(self, username: str) -> dict:
        page = self("/login")
        assert page["statusCode"] == 200, page
        fields = _form_fields(page["body"])
        return self("/login", "POST", {"login": fields["login"], "csrf": fields["csrf"], "username": username,
                                       "password": LOGIN_PASSWORD})


def _form_of(html: str, marker: str) -> dict[str, str]:
    """The hidden fields of the form that carries `marker` (e.g. data-webauthn="register")."""
    return _form_fields(html.split(marker, 1)[1].split("</form>", 1)[0])


def _user(invoke, username: str, *, policy: dict | None = None) -> str:
    """The MFA policy set (admin API; it also creates the TOTP seed key) and a user with a password: its id."""
    events = ([_admin("/admin/mfa", "PUT", policy)] if policy else []) + [
        _admin("/admin/users", "POST", {"username": username, "email": f"{username}@example.com", "firstname": "Pkg",
                                        "lastname": "Mfa", "password": LOGIN_PASSWORD})]
    answers = invoke("AdminApiFunction", events)
    assert [a["statusCode"] for a in answers] == [200] * (len(events) - 1) + [201], answers
    return json.loads(answers[-1]["body"])["id"]


def _factors(invoke, uid: str) -> list[dict]:
    (answer,) = invoke("AdminApiFunction", [_admin(f"/admin/users/{uid}/mfa")])
    return json.loads(answer["body"])["factors"]


def _enrol_totp(browser: Browser) -> str:
    """"Set up authenticator app" on /account, confirmed with the app's code: the setup key."""
    account = browser("/account")
    assert account["statusCode"] == 200 and "Set up authenticator app" in account["body"], account
    setup = browser("/account/totp", "POST", {"csrf": _form_fields(account["body"])["csrf"]})
    assert setup["statusCode"] == 200, setup
    secret = re.search(r'data-testid="setup-key">([A-Z2-7]+)<', setup["body"]).group(1)
    fields = _form_fields(setup["body"])
    done = browser("/account/totp/confirm", "POST", {"csrf": fields["csrf"], "factor": fields["factor"],
                                                     "code": pyotp.TOTP(secret).now()})
    assert done["statusCode"] == 200 and "Authenticator app added" in done["body"], done
    return secret


def _denied(invoke) -> list:
    return [d for d in invoke.decisions[LOGIN] if d[3] != "Allow"]


def _without_leading_key(invoke, prefix: str) -> None:
    """The login role's write statement no longer allows items whose partition key starts with `prefix`."""
    narrowed = False
    for statement in invoke.roles[LOGIN]:
        for keys in (statement.get("Condition") or {}).values():
            if "dynamodb:LeadingKeys" in keys:
                keys["dynamodb:LeadingKeys"] = [k for k in keys["dynamodb:LeadingKeys"] if not k.startswith(prefix)]
                narrowed = True
    assert narrowed, invoke.roles[LOGIN]


# ---------------------------------------------------------------- multi-factor sign-in (contract section 7)


def test_totp_and_passkey_sign_ins_run_under_the_login_role(invoke):
    """Enrolment of an authenticator app and of a passkey on /account, then a sign-in with the password and a
    code, and a passwordless one with the passkey: every call the login function makes allowed by its role."""
    from idp_testing.soft_authenticator import SoftAuthenticator

    uid = _user(invoke, "pkgmfa", policy=MFA_POLICY)
    enrolling = Browser(invoke)
    assert enrolling.sign_in("pkgmfa")["statusCode"] == 302 and enrolling.has_session
    calls = []
    secret = _enrol_totp(enrolling)
    calls += invoke.decisions[LOGIN]
    # The session that confirmed the code passed a factor: it may add a passkey.
    account = enrolling("/account")
    csrf = _form_of(account["body"], 'data-webauthn="register"')["csrf"]
    options = enrolling("/account/passkeys/options", "POST", {"csrf": csrf})
    assert options["statusCode"] == 200, options
    authenticator = SoftAuthenticator(BASE_URL)
    added = enrolling("/account/passkeys", "POST", {"csrf": csrf, "name": "Laptop",
                                                    "credential": authenticator.create(options["body"])})
    assert added["statusCode"] == 200 and "Passkey added." in added["body"], added
    calls += invoke.decisions[LOGIN]
    assert sorted(f["type"] for f in _factors(invoke, uid)) == ["totp", "webauthn"]

    coded = Browser(invoke)  # another browser: the password, then the second step asks for the code
    second = coded.sign_in("pkgmfa")
    assert second["statusCode"] == 200 and 'name="code"' in second["body"] and not coded.has_session, second
    fields = _form_of(second["body"], 'action="/login" autocomplete="off"')
    # The next step's code: enrolment used up this step's (a code is accepted once).
    signed = coded("/login", "POST", {**fields, "code": pyotp.TOTP(secret).at(time.time() + 30)})
    assert signed["statusCode"] == 302 and coded.has_session, signed
    calls += invoke.decisions[LOGIN]
    assert coded("/account")["statusCode"] == 200

    passwordless = Browser(invoke)  # no username, no password: the passkey names the user
    page = passwordless("/login")
    form = _form_of(page["body"], 'data-webauthn="authenticate"')
    options = passwordless("/login/passkey/options", "POST", {"login": form["login"], "csrf": form["csrf"]})
    assert options["statusCode"] == 200, options
    signed = passwordless("/login/passkey", "POST", {**form, "credential": authenticator.get(options["body"])})
    assert signed["statusCode"] == 302 and passwordless.has_session, signed
    calls += invoke.decisions[LOGIN]

    assert all(d[3] == "Allow" for d in calls), [d for d in calls if d[3] != "Allow"]
    written = {key for d in calls if d[0] != "dynamodb:BatchGetItem" and not d[0].endswith(("GetItem", "Query"))
               for key in d[2].get("dynamodb:LeadingKeys", [])}
    assert any(k == f"MFA#{uid}" for k in written) and any(k.startswith("MFA#challenge#") for k in written), written
    assert any(d[0] == "ssm:GetParameter" and d[1].endswith("/mfa-seed-key") for d in calls), calls


def test_taking_the_mfa_item_writes_from_the_login_role_breaks_enrolment_and_the_second_step(invoke):
    """Without MFA# among the login role's leading keys: no authenticator app can be set up, a user who has one
    cannot pass the code step, and no passkey ceremony can begin (its challenge is an MFA# item)."""
    uid = _user(invoke, "pkgmfadeny", policy=MFA_POLICY)
    browser = Browser(invoke)
    browser.sign_in("pkgmfadeny")
    account = browser("/account")
    full = json.loads(json.dumps(invoke.roles[LOGIN]))
    _without_leading_key(invoke, "MFA#")
    # The login function answers an error it did not expect with its 500 page (the invocation itself succeeds).
    assert browser("/account/totp", "POST", {"csrf": _form_fields(account["body"])["csrf"]})["statusCode"] == 500
    assert _denied(invoke)[0][2]["dynamodb:LeadingKeys"] == [f"MFA#{uid}"], _denied(invoke)
    assert _factors(invoke, uid) == []

    invoke.roles[LOGIN] = full
    secret = _enrol_totp(browser)
    _without_leading_key(invoke, "MFA#")
    coded = Browser(invoke)
    second = coded.sign_in("pkgmfadeny")
    assert 'name="code"' in second["body"], second
    fields = _form_of(second["body"], 'action="/login" autocomplete="off"')
    assert coded("/login", "POST", {**fields, "code": pyotp.TOTP(secret).at(time.time() + 30)})["statusCode"] == 500
    assert _denied(invoke)[0][2]["dynamodb:LeadingKeys"] == [f"MFA#{uid}"], _denied(invoke)
    assert not coded.has_session

    page = coded("/login")
    form = _form_of(page["body"], 'data-webauthn="authenticate"')
    assert coded("/login/passkey/options", "POST", {"login": form["login"], "csrf": form["csrf"]})["statusCode"] == 500
    assert _denied(invoke)[0][2]["dynamodb:LeadingKeys"][0].startswith("MFA#challenge#"), _denied(invoke)


# ---------------------------------------------------------------- single logout (contract section 3)

_ids = iter(range(10**6))


def _sp_slo_url(slug: str) -> str:
    return f"https://{slug}.example.com/slo"


def _slo_app(invoke, slug: str) -> tuple[object, str]:
    """An app with an SP certificate (its LogoutRequests must be signed) and an SP SLO URL (the LogoutResponse goes
    there, signed with the app's key), a user with a password bound to it: (the SP's key pair, the user's id)."""
    from idp_testing.saml_sp import sp_key

    keypair = sp_key(slug)
    answers = invoke("AdminApiFunction", [
        _admin("/admin/apps", "POST", {"slug": slug, "label": slug, "sp_entity_id": f"{slug}.example.com",
                                       "acs_urls": [f"https://{slug}.example.com/acs"], "sp_slo_url": _sp_slo_url(slug),
                                       "sp_certificate": keypair.certificate_pem}),
        _admin("/admin/users", "POST", {"username": f"{slug}-u", "email": f"{slug}-u@example.com",
                                        "firstname": "Pkg", "lastname": "Slo", "password": LOGIN_PASSWORD})])
    assert [a["statusCode"] for a in answers] == [201, 201], answers
    uid = json.loads(answers[1]["body"])["id"]
    (bound,) = invoke("AdminApiFunction", [_admin(f"/admin/apps/{slug}/users/{uid}", "PUT")])
    assert bound["statusCode"] == 204, bound
    return keypair, uid


def _signed_in_to_the_app(invoke, slug: str) -> tuple[Browser, str]:
    """A browser signed in that opened the app (IdP-initiated SSO): it, and the Response's SessionIndex."""
    import base64

    browser = Browser(invoke)
    assert browser.sign_in(f"{slug}-u")["statusCode"] == 302 and browser.has_session
    sso = browser(f"/saml2/{slug}")
    response = base64.b64decode(re.search(r'name="SAMLResponse" value="([^"]+)"', sso["body"]).group(1)).decode()
    return browser, re.search(r'SessionIndex="([^"]+)"', response).group(1)


def _logout_request(slug: str, session_index: str) -> str:
    from idp_testing.saml_sp import now_saml

    return ('<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" '
            f'xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_pkgslo{next(_ids)}" Version="2.0" '
            f'IssueInstant="{now_saml()}" Destination="{BASE_URL}/saml2/{slug}/slo">'
            f'<saml:Issuer>{slug}.example.com</saml:Issuer>'
            f'<saml:NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress">{slug}-u@example.com</saml:NameID>'
            f'<samlp:SessionIndex>{session_index}</samlp:SessionIndex></samlp:LogoutRequest>')


def _session_alive(browser: Browser) -> bool:
    return browser("/account")["statusCode"] == 200


def test_single_logout_runs_under_the_login_role(invoke):
    """The SP's signed LogoutRequest (Redirect binding, then POST) ends the session it names and is answered with a
    signed LogoutResponse to the SP; the IdP's own logout (POST /logout, the portal's Sign out) ends one too."""
    from idp_testing.saml_sp import post_form, redirect_query

    slug = "pkgslo"
    keypair, _ = _slo_app(invoke, slug)
    calls = []
    browser, index = _signed_in_to_the_app(invoke, slug)
    calls += invoke.decisions[LOGIN]
    redirected = browser(f"/saml2/{slug}/slo", query=redirect_query(_logout_request(slug, index), sp_keypair=keypair))
    assert redirected["statusCode"] == 302, redirected
    location = urllib.parse.urlsplit(redirected["headers"]["Location"])
    answer = dict(urllib.parse.parse_qsl(location.query))
    assert f"https://{location.netloc}{location.path}" == _sp_slo_url(slug), redirected
    assert {"SAMLResponse", "SigAlg", "Signature"} <= answer.keys(), answer  # a signed LogoutResponse
    calls += invoke.decisions[LOGIN]
    assert not browser.has_session and not _session_alive(browser)

    browser, index = _signed_in_to_the_app(invoke, slug)
    posted = browser(f"/saml2/{slug}/slo", "POST", post_form(_logout_request(slug, index), sp_keypair=keypair))
    assert posted["statusCode"] == 200 and f'action="{_sp_slo_url(slug)}"' in posted["body"], posted
    calls += invoke.decisions[LOGIN]
    assert not browser.has_session and not _session_alive(browser)

    browser, _ = _signed_in_to_the_app(invoke, slug)
    account = browser("/account")
    out = browser("/logout", "POST", {"csrf": _form_fields(account["body"])["csrf"]})
    assert out["statusCode"] == 302 and out["headers"]["Location"].startswith("/login"), out
    calls += invoke.decisions[LOGIN]
    assert not browser.has_session and not _session_alive(browser)

    assert all(d[3] == "Allow" for d in calls), [d for d in calls if d[3] != "Allow"]
    assert any(d[0] == "ssm:GetParameter" and "/signing-keys/" in d[1] for d in calls), calls  # the LogoutResponse's key
    assert any(d[0] == "dynamodb:DeleteItem" and d[2]["dynamodb:LeadingKeys"][0].startswith("SESSION#") for d in calls)


def test_taking_the_delete_from_the_login_role_leaves_the_session_alive_after_single_logout(invoke):
    """Without dynamodb:DeleteItem the SP's LogoutRequest cannot end the session it names."""
    from idp_testing.saml_sp import redirect_query

    slug = "pkgslodeny"
    keypair, _ = _slo_app(invoke, slug)
    browser, index = _signed_in_to_the_app(invoke, slug)
    full = json.loads(json.dumps(invoke.roles[LOGIN]))
    for statement in invoke.roles[LOGIN]:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        statement["Action"] = [a for a in actions if a != "dynamodb:DeleteItem"] or ["none:None"]
    refused = browser(f"/saml2/{slug}/slo", query=redirect_query(_logout_request(slug, index), sp_keypair=keypair))
    assert refused["statusCode"] == 500, refused
    denied = _denied(invoke)
    assert denied and denied[0][0] == "dynamodb:DeleteItem" and denied[0][2]["dynamodb:LeadingKeys"][0].startswith("SESSION#")
    invoke.roles[LOGIN] = full
    assert _session_alive(browser)
