"""An administrator's PATCH of a user reads the user once: the service's read (ownership, policy, the audit
record's before-values) is the one the versioned write is conditioned on, so the store does not read it again."""
from __future__ import annotations

import json

from idp_testing.lambda_client import load
from idp_testing.lambda_events import LambdaContext, http_event


def test_a_profile_patch_reads_the_user_once_and_writes_once(aws_env):
    from idp.bootstrap import container

    admin = load("admin_api")
    made = admin(http_event("POST", "/admin/users", {"username": "ines", "email": "ines@example.com",
                                                    "firstname": "Ines", "lastname": "Duarte"}), LambdaContext())
    uid = json.loads(made["body"])["id"]
    calls: list[str] = []
    events = container().table.meta.client.meta.events

    def record(model, params, **_) -> None:
        sk = (params.get("Key") or {}).get("sk") or {}
        calls.append(f"{model.name}:{sk.get('S', sk) if isinstance(sk, dict) else sk}" if model.name == "GetItem" else model.name)

    events.register("before-parameter-build.dynamodb", record)
    try:
        answer = admin(http_event("PATCH", f"/admin/users/{uid}", {"title": "Engineer"}), LambdaContext())
    finally:
        events.unregister("before-parameter-build.dynamodb", record)
    body = json.loads(answer["body"])
    assert answer["statusCode"] == 200 and body["title"] == "Engineer" and body["version"] == 2, body
    profile_reads = [c for c in calls if c.endswith("PROFILE")]
    assert len(profile_reads) == 1, calls
    assert calls.count("TransactWriteItems") == 1, calls
    # A concurrent change between the read and the write is still refused (the write is conditioned on the version).
    got = admin(http_event("GET", f"/admin/users/{uid}"), LambdaContext())
    assert json.loads(got["body"])["title"] == "Engineer"


def test_a_write_from_a_stale_read_is_refused_as_a_concurrent_change(aws_env):
    import pytest

    from idp.bootstrap import container
    from idp.kernel.errors import DomainError

    admin = load("admin_api")
    made = admin(http_event("POST", "/admin/users", {"username": "omar", "email": "omar@example.com",
                                                    "firstname": "Omar", "lastname": "Haddad"}), LambdaContext())
    uid = json.loads(made["body"])["id"]
    store = container().store
    stale = store.get_user(uid)
    assert admin(http_event("PATCH", f"/admin/users/{uid}", {"title": "Lead"}), LambdaContext())["statusCode"] == 200
    with pytest.raises(DomainError) as refused:
        store.update_user(uid, {"department": "Ops"}, None, lambda user: [], before=stale)
    assert refused.value.status == 409 and "concurrently" in str(refused.value)
    assert store.get_user(uid)["title"] == "Lead" and store.get_user(uid).get("department") is None
