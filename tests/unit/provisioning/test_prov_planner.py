import pytest

from idp.provisioning.planner import (
    ProvisioningConfig,
    backoff_seconds,
    exceeds_deprovision_guard,
    member_changes,
    plan_group,
    plan_user,
)

ACTIVE = {"id": "u", "state": "ACTIVE"}
SUSP = {"id": "u", "state": "SUSPENDED"}


@pytest.mark.parametrize("user,bound,provisioned,policy,action", [
    (ACTIVE, True, False, "deactivate", "active"),
    (ACTIVE, True, True, "deactivate", "active"),
    (ACTIVE, False, False, "deactivate", "none"),
    (ACTIVE, False, True, "deactivate", "inactive"),
    (SUSP, True, True, "deactivate", "inactive"),
    (SUSP, True, False, "deactivate", "none"),
    (None, False, True, "deactivate", "inactive"),
    (None, False, True, "delete", "delete"),
    (None, False, False, "delete", "none"),
])
def test_plan_user(user, bound, provisioned, policy, action):
    assert plan_user(user, bound, provisioned, policy).action == action


@pytest.mark.parametrize("group,bound,mapped,n,gm,action", [
    ({"name": "g"}, True, False, 0, True, "none"),  # no empty groups
    ({"name": "g"}, True, False, 2, True, "ensure"),
    ({"name": "g"}, True, True, 0, True, "ensure"),  # existing group loses its last member
    ({"name": "g"}, False, True, 2, True, "leave"),
    (None, False, True, 0, True, "delete"),
    (None, False, False, 0, True, "none"),
    ({"name": "g"}, True, True, 2, False, "none"),
])
def test_plan_group(group, bound, mapped, n, gm, action):
    assert plan_group(group, bound, mapped, n, gm).action == action


def test_member_changes_sorted():
    assert member_changes({"c", "a"}, {"b", "a"}) == (["c"], ["b"])


def test_guard():
    assert not exceeds_deprovision_guard(2, 4, 0.25, 5)  # below the minimum
    assert exceeds_deprovision_guard(10, 10, 0.25, 5)
    assert not exceeds_deprovision_guard(20, 100, 0.25, 5)
    assert exceeds_deprovision_guard(26, 100, 0.25, 5)


def test_backoff_with_jitter_grows_and_caps():
    assert backoff_seconds(1, 2, 900, 0.0) == 1 and backoff_seconds(1, 2, 900, 0.999) < 2
    assert backoff_seconds(4, 2, 900, 0.0) == 8
    assert backoff_seconds(30, 2, 900, 0.999) <= 900


def test_config_from_app_defaults():
    cfg = ProvisioningConfig.from_app({"slug": "s", "provisioning": {"base_url": "https://x/scim/v2/", "enabled": True}})
    assert cfg.base_url == "https://x/scim/v2" and cfg.dialect == "standard" and cfg.deprovision == "deactivate"
    assert cfg.group_management is False
    assert ProvisioningConfig.from_app({"slug": "s"}) is None
