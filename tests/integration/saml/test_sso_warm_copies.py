"""An SSO with a session in a warm container: one BatchGetItem and the audit write, with the app's
configuration and bound groups served from the container's copies (idp.adapters.app_revisions), and
every change made through the container that decides access or the Response visible on the very next
request (one made by another container shows within a second: test_sso_hot_reads)."""
from __future__ import annotations

import time

import pytest

from idp.adapters.app_revisions import rev_key
from idp.adapters.hot_items import TTL_SECONDS
from idp.adapters.mfa_state import MfaState
from idp.bootstrap import container
from idp.kernel.audit_log import AuditQuery
from idp_testing.lambda_client import LambdaClient, form_login
from idp_testing.saml_browser import parse_post_form

SP_ACS = "https://acme.officespacesoftware.com/users/sign_in/saml"


class Calls:
    """The DynamoDB operations the container's client makes, in order."""

    def __init__(self):
        self.names: list[str] = []
        container().table.meta.client.meta.events.register("before-call.dynamodb", self._seen)

    def _seen(self, model, **_):
        self.names.append(model.name)

    def during(self, fn):
        self.names.clear()
        out = fn()
        return out, list(self.names)


@pytest.fixture
def signed_in(env):
    """ada signed in, bound to the app through a group only, with one warm SSO behind her."""
    d = env.directory
    env.group = d.create_group({"name": "Staff"})
    d.add_member(env.group["id"], env.user["id"])
    d.bind_user("officespace", env.user["id"], bind=False)
    d.bind_group("officespace", env.group["id"], bind=True)
    env.client = LambdaClient(env.resolver)
    assert form_login(env.client, env.client.request("GET", "/login")).status == 200
    assert _sso(env).status == 200  # warms the copies
    env.calls = Calls()
    return env


def _sso(w):
    return w.client.request("GET", "/saml2/officespace", follow=False)


def _issued(resp) -> bool:
    return resp.status == 200 and parse_post_form(resp.text) is not None


def test_a_warm_sso_is_one_batch_read_and_the_audit_write(signed_in):
    resp, calls = signed_in.calls.during(lambda: _sso(signed_in))
    assert _issued(resp)
    assert calls == ["BatchGetItem", "PutItem"]


def test_membership_and_group_binding_changes_show_on_the_next_sso(signed_in):
    w, d = signed_in, signed_in.directory
    d.remove_member(w.group["id"], w.user["id"])
    assert _sso(w).status == 403
    d.add_member(w.group["id"], w.user["id"])
    assert _issued(_sso(w))
    d.bind_group("officespace", w.group["id"], bind=False)
    assert _sso(w).status == 403
    other = d.create_group({"name": "Contractors"})  # a group the container's copy has never seen
    d.add_member(other["id"], w.user["id"])
    d.bind_group("officespace", other["id"], bind=True)
    assert _issued(_sso(w))
    d.delete_group(other["id"])
    assert _sso(w).status == 403


def test_suspension_and_app_changes_show_on_the_next_sso(signed_in):
    w = signed_in
    moved = "https://acme.officespacesoftware.com/saml/acs-2"
    w.apps.update("officespace", {"acs_urls": [moved]})
    resp = _sso(w)
    assert _issued(resp) and parse_post_form(resp.text).action == moved
    w.directory.update_user(w.user["id"], {"state": "SUSPENDED"})  # ends her sessions
    resp = _sso(w)
    assert resp.status == 302 and resp.headers["location"].startswith("/login") and not _issued(resp)


def test_an_app_deleted_and_created_again_is_not_the_old_copy(signed_in):
    w = signed_in
    w.apps.delete("officespace")
    assert _sso(w).status == 404
    w.apps.create({"slug": "officespace", "label": "OfficeSpace", "sp_entity_id": "acme.officespacesoftware.com",
                     "acs_urls": ["https://acme.officespacesoftware.com/saml/new"]})
    assert _sso(w).status == 403  # the old bindings went with the old app
    w.directory.bind_group("officespace", w.group["id"], bind=True)
    resp = _sso(w)
    assert _issued(resp) and parse_post_form(resp.text).action == "https://acme.officespacesoftware.com/saml/new"


def test_an_app_without_revisions_is_read_fresh_every_time(signed_in):
    """An app written before revisions existed: no copy is trusted, so a change still shows at once (once the
    container's copy of the REV item it read before is a TTL old: idp.adapters.hot_items)."""
    w = signed_in
    table = container().table
    now = [time.monotonic()]
    container().hot_items.clock = lambda: now[0]
    table.delete_item(Key=rev_key("officespace"))
    now[0] += TTL_SECONDS
    resp, calls = w.calls.during(lambda: _sso(w))
    assert _issued(resp) and calls.count("Query") == 1  # its bound groups, read fresh
    table.delete_item(Key={"pk": "APP#officespace", "sk": f"BIND#GROUP#{w.group['id']}"})  # no revision to change
    assert _sso(w).status == 403


def test_a_factor_from_before_the_index_is_still_asked_for(signed_in):
    """A user whose factor predates the factor index: the SSO queries the factors, asks for the second
    step, and writes the index once."""
    w = signed_in
    table = container().table
    table.put_item(Item={"pk": f"MFA#{w.user['id']}", "sk": "FACTOR#pk-0123456789abcdef", "id": "pk-0123456789abcdef",
                         "type": "webauthn", "name": "Old key", "credential_id": "AAAA", "public_key": "AAAA", "sign_count": 0})
    table.delete_item(Key=MfaState.index_key(w.user["id"]))
    resp = _sso(w)
    assert not _issued(resp) and resp.status == 302 and resp.headers["location"].startswith("/login?state=")  # the second step
    index = table.get_item(Key=MfaState.index_key(w.user["id"]))["Item"]
    assert index["factors"] == {"pk-0123456789abcdef"}


def test_a_password_login_reads_in_two_batches(signed_in):
    """POST /login and the Response it resumes: the login state, the account and its counters, the app's
    reads in two BatchGetItems; then the login state goes as the session is written (one BatchWriteItem),
    and the two events (login, then the Response's) in one BatchWriteItem as the request ends."""
    w = signed_in
    fresh = LambdaClient(w.resolver)
    page = fresh.request("GET", "/saml2/officespace")
    assert page.path == "/login"
    resp, calls = w.calls.during(lambda: form_login(fresh, page))
    assert _issued(resp)
    assert calls == ["BatchGetItem", "BatchGetItem", "BatchWriteItem", "BatchWriteItem"]
    events = [e["type"] for e in container().audit.query(AuditQuery(user_id=w.user["id"]), limit=5)[0]]
    assert events[:2] == ["sso", "login"]  # newest first: both written
    again = form_login(fresh, page)  # the same form again: its login state went with that write
    assert again.status == 403 and "csrf_failed" in again.text


def test_a_wrong_password_then_the_right_one_counts_as_before(signed_in):
    """The counters a failed try writes are read fresh by the next try (they are dropped from the scope)."""
    w = signed_in
    fresh = LambdaClient(w.resolver)
    page = fresh.request("GET", "/saml2/officespace")
    assert form_login(fresh, page, password="wrong-one").status == 401
    assert _issued(form_login(fresh, page))
