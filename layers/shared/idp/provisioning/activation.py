"""Activation as JumpCloud does it: before an app goes live, create a test user in the SP, update it,
deactivate it and delete it (deactivation stands when the SP does not DELETE), and report each step
with the SP's answer, so an administrator sees exactly which operation the SP refuses."""
from __future__ import annotations

import uuid
from typing import Any

from idp.provisioning.ports import ClientFactory
from idp.scim.protocol import USER_SCHEMA, Conflict, PermanentError, ScimError, eq_filter

TIMEOUT = (5, 15)
_NOT_SUPPORTED = (403, 404, 405, 501)


def step(name: str, ok: bool, detail: str, status: int | None = None) -> dict[str, Any]:
    """One step of a connection test: `status` is the SP's HTTP status (contract section 4; `sp_status` is the
    same value under the name the first answers used)."""
    return {"step": name, "ok": ok, "status": status, "sp_status": status, "detail": detail}


def run_activation_test(client_factory: ClientFactory, base_url: str, token: str, test_email: str) -> dict[str, Any]:
    """Create, update, deactivate and delete a test user; `ok` only when each step the SP supports worked."""
    client = client_factory(base_url, token, timeout=TIMEOUT)
    marker = f"idp-activation-test-{uuid.uuid4().hex[:12]}"
    steps: list[dict[str, Any]] = []

    def fail(name: str, exc: ScimError) -> dict[str, Any]:
        steps.append(step(name, False, exc.message, exc.status or None))
        return {"ok": False, "detail": f"{name} failed: {exc.message}", "steps": steps}

    payload = {"schemas": [USER_SCHEMA], "userName": test_email, "externalId": marker, "active": True,
               "name": {"givenName": "Connection", "familyName": "Test"}, "displayName": "Connection Test",
               "emails": [{"value": test_email, "type": "work", "primary": True}]}
    try:
        created = client.create("Users", payload)
        scim_id = (created.body or {}).get("id")
        steps.append(step("create", bool(scim_id), f"created SP user {scim_id}", created.status))
    except Conflict as exc:
        try:  # a test user left by an earlier run: take it over
            hits = client.search("Users", eq_filter("userName", test_email), count=2)
        except ScimError as exc2:
            return fail("create", exc2)
        scim_id = hits[0]["id"] if len(hits) == 1 else None
        steps.append(step("create", bool(scim_id), f"the SP already had {test_email} (409); using SP user {scim_id}", exc.status))
    except ScimError as exc:
        return fail("create", exc)
    if not scim_id:
        return {"ok": False, "detail": "create failed: the SP answered without an id", "steps": steps}
    for name, ops, said in (
        ("update", [{"op": "replace", "path": "title", "value": "Connection test (updated)"}], "updated the title"),
        ("deactivate", [{"op": "replace", "path": "active", "value": False}], "set active to false"),
    ):
        try:
            answer = client.patch("Users", scim_id, ops)
        except ScimError as exc:
            return fail(name, exc)
        steps.append(step(name, True, said, answer.status))
    try:
        client.delete("Users", scim_id)
        steps.append(step("delete", True, f"deleted SP user {scim_id}", 204))
    except PermanentError as exc:
        if exc.status not in _NOT_SUPPORTED:
            return fail("delete", exc)
        steps.append(step("delete", True, f"the SP does not delete users ({exc.status}); the test user stays "
                                           "deactivated, as deprovisioning leaves users", exc.status))
    except ScimError as exc:
        return fail("delete", exc)
    return {"ok": True, "detail": f"created, updated, deactivated and removed a test user ({test_email}) in the SP",
            "steps": steps}
