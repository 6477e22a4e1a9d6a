"""The SSO and sign-in use cases (idp.app.sso.SingleSignOn, idp.app.sign_in.SignIn; issue 24 item 1) as the login function's container hands it out,
built from Settings: each answer is a typed value (a Response to POST, a refusal, the login form or the second
factor first) with its `sso` audit event written by the use case, and the Response it signs is one a strict SP
(python3-saml) accepts. The route only parses, calls it once and renders (test_saml_lambda_routes.py and the
saml HTTP suites drive the same answers over HTTP)."""
from __future__ import annotations

import base64

import pytest

from idp.app.answers import UnknownApp
from idp.app.browser import BrowserRequest, Client
from idp.app.sign_in import Resumed
from idp.app.sso import AccessRefused, PostToSp, RequestRefused, SignInFirst
from idp.bootstrap import container
from idp.kernel.audit_log import AuditQuery
from idp.signon.login import LoginSubmission, ShowForm
from idp_testing.lambda_client import PASSWORD, LambdaClient, form_login
from idp_testing.saml_browser import parse_inputs
from idp_testing.saml_sp import sp_accepts, sp_post_login


@pytest.fixture
def world(env):
    """The login function's container from Settings, Ada bound to "officespace" (tests/integration/conftest.py: env)."""
    return env


CLIENT = Client("198.51.100.9", "use-case-test")
BASE = "https://idp.example.com"


def _ask(slug: str = "officespace", *, form: dict | None = None, cookie: str | None = None) -> object:
    return container().sso.answer(BrowserRequest(slug, "POST" if form else "GET", "", form or {}, BASE, cookie, CLIENT))


def _sso_events() -> list:
    events, _ = container().audit.query(AuditQuery(type="sso"))
    return events


def _signed_in(world) -> str:
    client = LambdaClient(world.resolver)
    assert form_login(client, client.request("GET", "/login")).status == 200
    return next(v for k, v in client.jar.items() if k.endswith("idp_session"))


def test_an_unknown_app_is_a_typed_answer_and_audited(world):
    assert _ask("nope") == UnknownApp("nope")
    (event,) = _sso_events()
    assert (event["outcome"], event["reason"], event["app"], event["ip"], event["user_agent"]) == (
        "failure", "unknown_sp", "nope", CLIENT.ip, CLIENT.user_agent)


def test_no_session_means_sign_in_first_with_the_request_to_resume(world):
    req_id, b64 = sp_post_login(world.sp, sp_keypair=world.kp)
    answer = _ask(form={"SAMLRequest": b64, "RelayState": "r1"})
    assert isinstance(answer, SignInFirst)
    pending = answer.pending
    assert (pending.slug, pending.request_id, pending.sp_initiated, pending.relay_state) == ("officespace", req_id, True, "r1")
    assert _sso_events() == []  # nothing was answered yet


def test_a_signed_in_bound_user_gets_a_response_a_strict_sp_accepts(world):
    cookie = _signed_in(world)
    req_id, b64 = sp_post_login(world.sp, sp_keypair=world.kp)
    answer = _ask(form={"SAMLRequest": b64, "RelayState": "r2"}, cookie=cookie)
    assert isinstance(answer, PostToSp) and answer.relay_state == "r2"
    assert answer.acs_url == "https://acme.officespacesoftware.com/users/sign_in/saml"
    assert sp_accepts(world.sp, answer.saml_response, req_id).get_nameid() == "ada@example.com"
    success = [e for e in _sso_events() if e["outcome"] == "success"]
    assert len(success) == 1 and success[0]["user_id"] == world.user["id"]
    assert (success[0]["detail"]["acs"], success[0]["detail"]["request_id"], success[0]["detail"]["sp_initiated"]) == (
        answer.acs_url, req_id, True)


def test_an_unbound_user_is_refused_and_the_refusal_is_audited(world):
    cookie = _signed_in(world)
    world.directory.bind_user("officespace", world.user["id"], bind=False)
    answer = _ask(cookie=cookie)  # IdP-initiated
    assert isinstance(answer, AccessRefused)
    assert (answer.denied.code, answer.user_id, answer.label) == ("access_denied", world.user["id"], "OfficeSpace")
    (event,) = [e for e in _sso_events() if e["outcome"] == "failure"]
    assert (event["reason"], event["user_id"], event["detail"]["sp_initiated"]) == ("not_bound", world.user["id"], False)


def test_a_tampered_request_is_refused_with_its_code(world):
    _, b64 = sp_post_login(world.sp, sp_keypair=world.kp)
    answer = _ask(form={"SAMLRequest": b64[:-8] + "AAAAAAA="})
    assert isinstance(answer, RequestRefused) and 400 <= answer.status < 500
    (event,) = _sso_events()
    assert (event["outcome"], event["reason"]) == ("failure", answer.code)


def test_a_passive_request_without_a_session_is_answered_no_passive(world):
    req_id, b64 = sp_post_login(world.sp, sp_keypair=world.kp, is_passive=True)
    answer = _ask(form={"SAMLRequest": b64})
    assert isinstance(answer, PostToSp)
    assert "urn:oasis:names:tc:SAML:2.0:status:NoPassive" in base64.b64decode(answer.saml_response).decode()
    (event,) = _sso_events()
    assert (event["outcome"], event["reason"], event["detail"]["request_id"]) == ("failure", "no_passive", req_id)


def _submission(world, sso_form: dict, password: str) -> LoginSubmission:
    """The login form the SSO URL sent the browser to, filled in."""
    client = LambdaClient(world.resolver)
    page = client.request("POST", "/saml2/officespace", form=sso_form)
    assert page.path == "/login"
    fields = parse_inputs(page.text)
    browser = next(v for k, v in client.jar.items() if k.endswith("idp_browser"))
    return LoginSubmission(login_id=fields["login"], csrf=fields["csrf"], browser=browser, username="ada",
                           password=password, client=CLIENT.ip or "")


def test_a_login_resumes_the_sso_it_was_for_with_both_events_in_one_write(world):
    req_id, b64 = sp_post_login(world.sp, sp_keypair=world.kp)
    submission = _submission(world, {"SAMLRequest": b64, "RelayState": "r3"}, PASSWORD)
    audit_writes: list[list[str]] = []  # per write call, the audit items' types it carries

    def seen(params, **_):
        items = [r["PutRequest"]["Item"] for t in params.get("RequestItems", {}).values() for r in t if "PutRequest" in r]
        items += [params["Item"]] if "Item" in params else []
        types = [i["type"] for i in items if str(i.get("pk", "")).startswith("AUDIT#")]
        if types:
            audit_writes.append(types)

    container().table.meta.client.meta.events.register("provide-client-params.dynamodb.*", seen)
    answer = container().sign_in.with_password(submission, client=CLIENT, base_url=BASE)
    assert isinstance(answer, Resumed) and answer.path is None and isinstance(answer.answer, PostToSp)
    assert answer.logged_in.signed_in.user["id"] == world.user["id"]
    assert sp_accepts(world.sp, answer.answer.saml_response, req_id).get_nameid() == "ada@example.com"
    events = {e["type"]: e for e in container().audit.query(AuditQuery())[0] if e["type"] in ("login", "sso")}
    assert (events["login"]["outcome"], events["sso"]["outcome"], events["sso"]["detail"]["request_id"]) == (
        "success", "success", req_id)
    assert audit_writes == [["login", "sso"]]  # the login's and the Response's events, in one write at the end


def test_a_wrong_password_shows_the_form_again_and_resumes_nothing(world):
    _, b64 = sp_post_login(world.sp, sp_keypair=world.kp)
    answer = container().sign_in.with_password(_submission(world, {"SAMLRequest": b64}, "Wrong-Horse-Battery-9"),
                                               client=CLIENT, base_url=BASE)
    assert isinstance(answer, ShowForm) and answer.reason == "wrong_credentials"
    assert _sso_events() == []
