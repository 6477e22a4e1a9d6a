"""The items every sign-in reads whoever signs in (the app's REV, the MFA policy) are read by a warm login
container at most once a TTL (idp.adapters.hot_items), and an access change written by another container
(the admin function's) is refused by SSO within 2 s: at once for the user's own binding, read fresh every
time; within the TTL for a group's binding, seen through the REV the container reads again. The login
container is the process's, built from Settings as the Lambda builds it; the admin's a second one."""
from __future__ import annotations

import json
import time

import pytest

from idp import bootstrap
from idp.adapters.app_revisions import rev_key
from idp.adapters.hot_items import MFA_POLICY_KEY, TTL_SECONDS
from idp.bootstrap import container
from idp.settings import Settings
from idp_testing.lambda_client import LambdaClient, form_login
from idp_testing.saml_browser import parse_post_form


class Clock:
    """The login container's clock for its hot copies, moved by hand."""

    def __init__(self):
        self.now = time.monotonic()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class KeysRead:
    """The keys of each BatchGetItem the login container's client sends."""

    def __init__(self):
        self.keys: list[tuple[str, str]] = []
        container().table.meta.client.meta.events.register("before-call.dynamodb.BatchGetItem", self._seen)

    def _seen(self, params, **_):
        for ask in json.loads(params["body"])["RequestItems"].values():
            self.keys.extend((k["pk"]["S"], k["sk"]["S"]) for k in ask["Keys"])

    def count(self, key: dict) -> int:
        return self.keys.count((key["pk"], key["sk"]))


@pytest.fixture
def warm(env):
    """ada signed in (bound directly and through a group), the login container on a hand-moved clock, and
    a second container for the administrator's changes."""
    d = env.directory
    env.group = d.create_group({"name": "Staff"})
    d.add_member(env.group["id"], env.user["id"])
    d.bind_group("officespace", env.group["id"], bind=True)
    env.clock = Clock()
    container().hot_items.clock = env.clock
    env.client = LambdaClient(env.resolver)
    assert form_login(env.client, env.client.request("GET", "/login")).status == 200
    assert _issued(_sso(env))  # warms the container's copies of the app
    env.admin = bootstrap.Container(Settings.load())  # as the admin function's: its writes forget nothing here
    assert env.admin is not container()
    env.reads = KeysRead()
    return env


def _sso(w):
    return w.client.request("GET", "/saml2/officespace", follow=False)


def _issued(resp) -> bool:
    return resp.status == 200 and parse_post_form(resp.text) is not None


def test_two_ssos_within_the_ttl_read_the_hot_items_once(warm):
    w = warm
    w.clock.advance(TTL_SECONDS)  # whatever the login read is now too old
    assert _issued(_sso(w))
    w.clock.advance(TTL_SECONDS / 2)
    assert _issued(_sso(w))
    assert w.reads.count(rev_key("officespace")) == 1
    assert w.reads.count(MFA_POLICY_KEY) == 1
    w.clock.advance(TTL_SECONDS / 2)  # the first read is a TTL old: read again
    assert _issued(_sso(w))
    assert w.reads.count(rev_key("officespace")) == 2 and w.reads.count(MFA_POLICY_KEY) == 2


def test_the_users_own_binding_is_read_on_every_sso_under_the_user(warm):
    w = warm
    uid = w.user["id"]
    for _ in range(2):
        assert _issued(_sso(w))
    assert w.reads.count({"pk": f"USER#{uid}", "sk": "APP#officespace"}) == 2  # the mirror: the user's partition
    assert not [k for k in w.reads.keys if k[0] == "APP#officespace" and k[1] != "REV"]  # nothing else of the app's


def test_unbinding_the_user_by_another_container_is_refused_at_once(warm):
    w = warm
    w.admin.directory.bind_group("officespace", w.group["id"], bind=False)  # left: the direct binding alone
    w.clock.advance(TTL_SECONDS)
    assert _issued(_sso(w))
    w.admin.directory.bind_user("officespace", w.user["id"], bind=False)
    resp = _sso(w)  # no time passes: the binding is read fresh
    assert resp.status == 403 and "access_denied" in resp.text


def test_unbinding_the_group_by_another_container_is_refused_within_two_seconds(warm):
    w = warm
    w.admin.directory.bind_user("officespace", w.user["id"], bind=False)  # left: the group's binding alone
    w.clock.advance(TTL_SECONDS)
    assert _issued(_sso(w))  # reads REV: the container's copy starts now
    w.admin.directory.bind_group("officespace", w.group["id"], bind=False)
    w.clock.advance(TTL_SECONDS)
    assert TTL_SECONDS < 2
    resp = _sso(w)
    assert resp.status == 403 and "access_denied" in resp.text
    w.admin.directory.bind_group("officespace", w.group["id"], bind=True)  # and back, the same way
    w.clock.advance(TTL_SECONDS)
    assert _issued(_sso(w))


def test_an_mfa_policy_written_by_another_container_is_asked_for_within_the_ttl(warm):
    w = warm
    w.clock.advance(TTL_SECONDS)
    assert _issued(_sso(w))
    from idp.signon.mfa.policy import MfaPolicy

    w.admin.mfa.store.put_policy(MfaPolicy(policy="required", grace_days=0, required_since=int(time.time()) - 60))
    w.clock.advance(TTL_SECONDS)
    resp = _sso(w)
    assert not _issued(resp) and resp.status == 302  # the second step (enrol a factor) before any Response


def test_a_change_through_the_same_container_shows_at_once(warm):
    w = warm
    w.clock.advance(TTL_SECONDS)
    assert _issued(_sso(w))
    d = w.directory  # the login container's own: its write drops the copy
    d.bind_user("officespace", w.user["id"], bind=False)
    d.bind_group("officespace", w.group["id"], bind=False)
    assert _sso(w).status == 403  # no time passed
