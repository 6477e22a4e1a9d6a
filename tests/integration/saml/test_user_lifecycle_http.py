"""Issue 26 items 2 and 3 (contract section 9) over HTTP through the Lambda resolvers on moto, the container built
from the settings as a function builds it, with the local mailbox as its mailer and a fake clock for expiry:
activation links (the admin API, create with send_activation), "Forgot password?" (one answer whatever the
account, 3 emails an hour per account and per login typed), one "New password" form, links single-use, newest
only, 7 days / 30 minutes, void while suspended and once the password is set another way, the configured base URL
whatever the Host, Referrer-Policy, tokens stored as hashes, sessions ended, the second factor still asked for,
and the `password` audit events."""
from __future__ import annotations

import hashlib
import json
import re
from urllib.parse import urlencode

import pytest

from idp import bootstrap
from idp_testing.lambda_client import PASSWORD, LambdaClient
from idp_testing.lambda_events import LambdaContext, http_event
from idp_testing.lifecycle_http import (
    BASE,
    NEW,
    OTHER,
    forgot,
    lifecycle_world,
    link_in,
    mails,
    new_user,
    open_form,
    password_events,
    reset_link,
    sign_in,
    submit,
    token_of,
)
from idp_testing.mfa_http import code_step, enrol_totp, next_code, set_policy, signed_in
from idp_testing.saml_browser import parse_inputs


@pytest.fixture
def world(aws_env, monkeypatch):
    yield lifecycle_world(monkeypatch)
    bootstrap.reset()


# ---------------------------------------------------------------------------- activation


def test_activation_sets_the_first_password_once_and_the_user_signs_in_with_it(world):
    user = new_user(world, send_activation=True)  # no password
    assert "send_activation" not in user and "password_set_at" not in user
    (message,) = mails(world, "grace@example.com")
    assert message["subject"] == "Activate your OfficeSpace IdP account" and "7 days" in message["text"]
    path = link_in(message)
    c = LambdaClient(world.resolver)
    page = open_form(c, path)
    assert page.status == 200 and page.headers["referrer-policy"] == "no-referrer"
    for label, name in (("New password", "password"), ("Confirm new password", "password_confirm")):
        assert re.search(rf'<label for="{name}">{label}</label>', page.text) and f'name="{name}"' in page.text
    assert '<button type="submit">Set password</button>' in page.text

    mismatch = submit(c, path, NEW, OTHER)
    assert mismatch.status == 400 and "do not match" in mismatch.text
    weak = submit(c, path, "short", "short")
    assert weak.status == 400 and 'id="password-error"' in weak.text
    assert sign_in(world, "grace", NEW)[1].status == 401  # nothing set yet; the link still works
    done = submit(c, path)
    assert done.status == 200 and "Your password is set" in done.text
    again = submit(c, path, OTHER)
    assert again.status == 410 and open_form(c, path).status == 410  # used once
    _, portal = sign_in(world, "grace", NEW)
    assert portal.status == 200 and portal.path == "/"
    assert sign_in(world, "grace", OTHER)[1].status == 401
    assert len(mails(world, "grace@example.com")) == 1  # a first password is no "password changed" news

    sent, activated = sorted(password_events(world, user["id"]), key=lambda e: e["at"])
    assert (sent["reason"], sent["actor"]["type"], sent["outcome"]) == ("activation_sent", "admin", "success")
    assert (activated["reason"], activated["actor"]) == ("activated", {"type": "user", "id": user["id"]})
    assert token_of(path) not in json.dumps([sent, activated])


def test_the_activation_route_answers_202_and_only_the_newest_link_works(world):
    user = new_user(world)
    status, body = world.admin("POST", f"/admin/users/{user['id']}/activation")
    assert status == 202 and body["id"] == user["id"] and body["email_sent"] is True and body["expires_at"].endswith("Z")
    first = link_in(mails(world)[0])
    assert world.admin("POST", f"/admin/users/{user['id']}/activation")[0] == 202
    second = link_in(mails(world)[0])
    assert first != second
    c = LambdaClient(world.resolver)
    assert open_form(c, first).status == 410 and submit(c, first).status == 410
    assert submit(c, second).status == 200
    assert world.admin("POST", "/admin/users/u-nobody/activation")[0] == 404
    status, error = world.admin("POST", "/admin/users", {"username": "sus", "email": "sus@example.com", "firstname": "S",
                                                         "lastname": "Us", "state": "SUSPENDED", "send_activation": True})
    assert status == 400 and "send_activation" in error["message"]
    assert world.admin("POST", "/admin/users", {"username": "x", "email": "x@example.com", "firstname": "X",
                                                "lastname": "Y", "send_activation": "yes"})[0] == 400


def test_an_activation_link_works_for_7_days_and_a_reset_link_for_30_minutes(world):
    user = new_user(world)
    world.admin("POST", f"/admin/users/{user['id']}/activation")
    activation = link_in(mails(world)[0])
    reset = reset_link(world)
    c = LambdaClient(world.resolver)
    world.clock.advance(30 * 60 - 5)
    assert open_form(c, reset).status == 200
    world.clock.advance(10)
    assert open_form(c, reset).status == 410 and submit(c, reset).status == 410
    world.clock.advance(7 * 86400 - 30 * 60 - 20)
    assert open_form(c, activation).status == 200
    world.clock.advance(20)
    assert open_form(c, activation).status == 410 and submit(c, activation).status == 410
    assert sign_in(world, "grace", NEW)[1].status == 401


def test_a_suspended_user_gets_no_link_and_an_issued_one_stops_working(world):
    uid = world.user["id"]
    path = reset_link(world)
    world.admin("PATCH", f"/admin/users/{uid}", {"state": "SUSPENDED"})
    c = LambdaClient(world.resolver)
    assert open_form(c, path).status == 410 and submit(c, path).status == 410
    before = len(mails(world))
    assert forgot(c, "ada").status == 200 and len(mails(world)) == before  # no email, the same answer
    status, error = world.admin("POST", f"/admin/users/{uid}/activation")
    assert status == 409 and error["error"] == "suspended"
    assert (password_events(world, uid)[0]["outcome"], password_events(world, uid)[0]["reason"]) == ("failure", "reset_requested")
    world.admin("PATCH", f"/admin/users/{uid}", {"state": "ACTIVE"})
    assert submit(c, path).status == 200  # "while the user is suspended": active again, the newest link works


def test_a_password_set_another_way_voids_the_links(world):
    uid = world.user["id"]
    path = reset_link(world)
    assert world.admin("PATCH", f"/admin/users/{uid}", {"password": OTHER})[0] == 200
    c = LambdaClient(world.resolver)
    assert open_form(c, path).status == 410 and submit(c, path).status == 410
    assert sign_in(world, "ada", OTHER)[1].status == 200
    notice = mails(world, "ada@example.com")[0]
    assert notice["subject"] == "Your OfficeSpace IdP password was changed" and "by an administrator" in notice["text"]
    assert OTHER not in json.dumps(mails(world))

    # ... and the account page's own change (audited as the user's)
    path = reset_link(world)
    b, _ = sign_in(world, "ada", OTHER)
    csrf = parse_inputs(b.request("GET", "/account").text)["csrf"]
    changed = b.request("POST", "/account/password", form={"csrf": csrf, "current_password": OTHER, "new_password": NEW})
    assert changed.status == 200 and "Password changed" in changed.text
    assert open_form(c, path).status == 410
    reasons = [(e["reason"], e["actor"]["type"]) for e in password_events(world, uid)]
    assert ("admin_set", "admin") in reasons and ("changed", "user") in reasons


# ---------------------------------------------------------------------------- forgot password


def test_the_login_page_links_to_a_form_that_answers_the_same_whatever_the_account(world):
    world.container.directory.create_user({"username": "sam", "email": "sam@example.com", "firstname": "Sam",
                                           "lastname": "Pend", "password": PASSWORD, "state": "SUSPENDED"})
    c = LambdaClient(world.resolver)
    login = c.request("GET", "/login")
    assert '<a href="/password/forgot">Forgot password?</a>' in login.text
    page = c.request("GET", "/password/forgot")
    assert page.status == 200 and '<label for="login">Username or email</label>' in page.text
    assert 'name="login"' in page.text and '<button type="submit">Send reset link</button>' in page.text
    answers = {who: forgot(c, who) for who in ("ada@example.com", "nobody@example.com", "sam", "", "x" * 400)}
    assert {a.status for a in answers.values()} == {200}
    assert len({a.text for a in answers.values()}) == 1  # the same page, byte for byte
    (message,) = mails(world)
    assert message["to"] == ["ada@example.com"] and message["subject"] == "Reset your OfficeSpace IdP password"
    assert "30 minutes" in message["text"]


def test_at_most_three_reset_emails_an_hour_per_account_and_per_login_typed(world):
    c = LambdaClient(world.resolver)
    answers = [forgot(c, login) for login in ("ada", "ADA@example.com", "ada", "ada@example.com", "Ada")]
    assert len({(a.status, a.text) for a in answers}) == 1
    assert len(mails(world)) == 3
    links = [link_in(m) for m in mails(world)]
    assert [open_form(c, p).status for p in links] == [200, 410, 410]  # only the newest works
    throttled = [e for e in password_events(world, world.user["id"]) if e["outcome"] == "failure"]
    assert len(throttled) == 2 and all(e["reason"] == "reset_requested" for e in throttled)

    # per login typed: an address nobody has asked three times, then an account takes it within the hour
    for _ in range(3):
        forgot(c, "late@example.com")
    world.container.directory.create_user({"username": "late", "email": "late@example.com", "firstname": "La",
                                           "lastname": "Te", "password": PASSWORD})
    forgot(c, "late@example.com")
    assert mails(world, "late@example.com") == []
    forgot(c, "late")  # the account itself has had none
    assert len(mails(world, "late@example.com")) == 1

    world.clock.advance(3601)
    forgot(c, "ada")
    assert len(mails(world, "ada@example.com")) == 4


def test_a_reset_ends_every_session_emails_a_notice_and_the_old_password_stops_working(world):
    uid = world.user["id"]
    old_session, portal = sign_in(world, "ada", PASSWORD)
    assert portal.status == 200 and old_session.request("GET", "/").path == "/"
    path = reset_link(world)
    done = submit(LambdaClient(world.resolver), path)
    assert done.status == 200
    back = old_session.request("GET", "/")
    assert back.path == "/login"  # the old session ended
    assert sign_in(world, "ada", PASSWORD)[1].status == 401
    assert sign_in(world, "ada", NEW)[1].status == 200
    notice = mails(world, "ada@example.com")[0]
    assert notice["subject"] == "Your OfficeSpace IdP password was changed" and "password reset link" in notice["text"]
    assert BASE + "/account" in notice["text"] and NEW not in json.dumps(mails(world))
    reasons = [(e["reason"], e["actor"]) for e in password_events(world, uid)]
    assert ("reset", {"type": "user", "id": uid}) in reasons and ("reset_requested", {"type": "user", "id": uid}) in reasons
    assert token_of(path) not in json.dumps(password_events(world, uid))


def test_a_reset_never_bypasses_the_second_factor(world):
    set_policy(world, policy="optional")
    secret, _ = enrol_totp(signed_in(world))
    assert submit(LambdaClient(world.resolver), reset_link(world)).status == 200
    c, second = sign_in(world, "ada", NEW)
    assert second.status == 200 and 'name="code"' in second.text and "SAMLResponse" not in second.text
    assert c.request("GET", "/").path == "/login"  # not signed in before the code
    done = code_step(c, second, next_code(secret))
    assert done.status == 200 and done.path == "/"


# ---------------------------------------------------------------------------- links and storage


def test_links_use_the_configured_base_url_whatever_the_host_or_forwarded_headers(world):
    from idp.web.password_routes import router as password_router
    from idp.web.resolver import lambda_app

    event = http_event("POST", "/password/forgot", token=None, raw_body=urlencode({"login": "ada"}),
                       headers={"content-type": "application/x-www-form-urlencoded", "host": "evil.example",
                                "x-forwarded-host": "evil.example", "x-forwarded-proto": "http"})
    event["requestContext"]["domainName"] = "evil.example"
    out = lambda_app(password_router).resolve(event, LambdaContext())
    assert out["statusCode"] == 200
    assert {k.lower(): v for k, v in out["headers"].items()}["referrer-policy"] == "no-referrer"
    (message,) = mails(world)
    assert "evil.example" not in message["text"] + message["html"]
    link_in(message)  # starts at BASE


def test_tokens_are_stored_only_as_hashes_one_item_per_user_and_purpose(world):
    user = new_user(world)
    world.admin("POST", f"/admin/users/{user['id']}/activation")
    world.admin("POST", f"/admin/users/{user['id']}/activation")
    activation = token_of(link_in(mails(world)[0]))
    reset = token_of(reset_link(world, "grace"))
    items = world.container.table.scan()["Items"]
    links = [i for i in items if i["pk"] == f"PWLINK#{user['id']}"]
    assert sorted(i["sk"] for i in links) == ["activation", "reset"]
    by_purpose = {i["sk"]: i for i in links}
    assert by_purpose["activation"]["token_hash"] == hashlib.sha256(activation.encode()).hexdigest()
    assert by_purpose["reset"]["token_hash"] == hashlib.sha256(reset.encode()).hexdigest()
    dump = json.dumps(items, default=str)
    for token in (activation, reset):
        assert token not in dump and token.rsplit(".", 1)[1] not in dump


def test_two_submissions_of_one_link_set_the_password_once(world, monkeypatch):
    """Both pass the link check before either uses it; the conditional delete lets only one through."""
    from idp.directory.lifecycle import UserLifecycle
    from idp.kernel.errors import DomainError

    path = reset_link(world)
    lifecycle = world.container.lifecycle
    seen = lifecycle.open_link(token_of(path))
    assert seen is not None
    assert lifecycle.set_password(token_of(path), NEW, NEW) == seen
    monkeypatch.setattr(UserLifecycle, "open_link", lambda self, token: seen)  # the second had read it before
    with pytest.raises(DomainError) as refused:
        lifecycle.set_password(token_of(path), OTHER, OTHER)
    assert refused.value.status == 410
    monkeypatch.undo()
    assert sign_in(world, "ada", NEW)[1].status == 200 and sign_in(world, "ada", OTHER)[1].status == 401
    assert [e["reason"] for e in password_events(world, world.user["id"])].count("reset") == 1


def test_bad_tokens_get_the_410_page_never_a_5xx(world):
    c = LambdaClient(world.resolver)
    for token in ("", "x", "a..", "r.u-1.", "z.u-1.abc", "a." + "u" * 300 + ".abc", "r.%00.abc"):
        assert c.request("GET", "/password/set", urlencode({"token": token})).status == 410, token
        assert c.request("POST", "/password/set", form={"token": token, "password": NEW, "password_confirm": NEW}).status == 410
    assert c.request("GET", "/password/set").status == 410


def test_a_password_write_that_fails_gives_the_link_back(world, monkeypatch):
    """The link is used before the password is written; when the write fails (a concurrent change of the user, AWS
    failing) nothing was set, so the link works again (and the page says so, no 5xx)."""
    from idp.directory.service import DirectoryService
    from idp.kernel.errors import DomainError

    path = reset_link(world)

    def clash(self, uid, password, reason):
        raise DomainError(409, "conflict", "the user changed concurrently; try again")

    monkeypatch.setattr(DirectoryService, "set_password", clash)
    c = LambdaClient(world.resolver)
    refused = submit(c, path)
    assert refused.status == 409 and "try again" in refused.text
    monkeypatch.undo()
    assert open_form(c, path).status == 200 and submit(c, path).status == 200
    assert sign_in(world, "ada", NEW)[1].status == 200
