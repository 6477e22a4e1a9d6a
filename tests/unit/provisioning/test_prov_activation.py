"""Activation (JumpCloud's check before going live): a test user is created, updated, deactivated and
deleted in the SP, each step reported with the SP's answer; an SP without DELETE leaves it deactivated."""
from __future__ import annotations

from idp.provisioning.activation import run_activation_test
from idp.scim.protocol import AuthError, PermanentError


def _names(result):
    return [(s["step"], s["ok"]) for s in result["steps"]]


def test_create_update_deactivate_delete(sp):
    result = run_activation_test(sp.client_factory, sp.base_url, "secret", "idp-test@acme.example")
    assert result["ok"] is True, result
    assert _names(result) == [("create", True), ("update", True), ("deactivate", True), ("delete", True)]
    assert sp.user_by_name("idp-test@acme.example") is None  # nothing left behind
    methods = [m for m, path, _, _ in sp.requests]
    assert methods == ["POST", "PATCH", "PATCH", "DELETE"]


def test_an_sp_without_delete_keeps_the_test_user_deactivated(sp):
    sp.fail("DELETE", "Users", PermanentError("405 Method Not Allowed", status=405))
    result = run_activation_test(sp.client_factory, sp.base_url, "secret", "idp-test@acme.example")
    assert result["ok"] is True and result["steps"][-1]["sp_status"] == 405
    assert result["steps"][-1]["status"] == 405  # the contract's name for the SP's HTTP status (section 4)
    assert "deactivated" in result["steps"][-1]["detail"]
    assert sp.user_by_name("idp-test@acme.example")["active"] is False


def test_a_refused_step_is_named_with_the_sps_words(sp):
    sp.fail("PATCH", "Users", PermanentError("400: title is read-only", status=400))
    result = run_activation_test(sp.client_factory, sp.base_url, "secret", "idp-test@acme.example")
    assert result["ok"] is False and result["detail"].startswith("update failed") and "read-only" in result["detail"]
    assert _names(result) == [("create", True), ("update", False)]


def test_a_leftover_test_user_is_taken_over(sp):
    sp.create("Users", {"userName": "idp-test@acme.example", "active": True})
    result = run_activation_test(sp.client_factory, sp.base_url, "secret", "idp-test@acme.example")
    assert result["ok"] is True and "409" in result["steps"][0]["detail"]
    assert sp.user_by_name("idp-test@acme.example") is None


def test_a_wrong_token_fails_at_create(sp):
    result = run_activation_test(sp.client_factory, sp.base_url, "wrong", "idp-test@acme.example")
    assert result["ok"] is False and _names(result) == [("create", False)]
    assert result["steps"][0]["sp_status"] == 401 and result["steps"][0]["status"] == 401
    assert isinstance(AuthError("x"), Exception)
