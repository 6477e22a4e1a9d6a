"""The in-invocation Retry-After budget and the per-app SCIM client cache, on their own."""
from idp.provisioning.clients import ScimClients
from idp.provisioning.planner import ProvisioningConfig
from idp.provisioning.retry_budget import INLINE_RETRY_AFTER_MAX, INLINE_RETRY_ATTEMPTS, INLINE_RETRY_MARGIN, RetryBudget
from idp.scim.protocol import AuthError
from idp_testing.directory import Tokens
from idp_testing.scim_memory import InMemoryScim


def test_budget_waits_only_short_values_that_fit_the_remaining_time():
    now, slept = [0.0], []
    budget = RetryBudget(sleep=slept.append, clock=lambda: now[0])
    assert budget.wait(1.0, 1) is False  # no deadline: never inline
    budget.set_deadline(INLINE_RETRY_MARGIN + 2.0)
    assert budget.wait(INLINE_RETRY_AFTER_MAX + 0.5, 1) is False  # too long
    assert budget.wait(1.0, INLINE_RETRY_ATTEMPTS + 1) is False  # too many in a row
    assert budget.wait(2.0, 1) is True and slept == [2.0]
    now[0] = 1.5
    assert budget.wait(1.0, 2) is False  # would leave less than the margin
    budget.set_deadline(None)
    assert budget.deadline is None


def test_client_cache_rebuilds_on_a_new_token_and_rereads_after_an_auth_failure():
    sp = InMemoryScim(token="t1")
    tokens = Tokens(office="t1")
    built = []

    def factory(base_url, token, **kw):
        built.append(token)
        return sp.client_factory(base_url, token, **kw)

    clients = ScimClients(tokens, factory, timeout=1)
    cfg = ProvisioningConfig("office", sp.base_url, True, False)
    first = clients.client_for(cfg)
    assert clients.client_for(cfg) is first and built == ["t1"]
    tokens.tokens["office"] = "t2"
    assert clients.client_for(cfg) is not first and built == ["t1", "t2"]
    clients.credentials_failed("office")
    clients.client_for(cfg)
    assert tokens.fresh_reads == 1 and built == ["t1", "t2", "t2"]
    tokens.tokens.pop("office")
    try:
        clients.client_for(cfg)
    except AuthError as exc:
        assert "no SCIM token" in exc.message
    else:
        raise AssertionError("no token must be an AuthError")
