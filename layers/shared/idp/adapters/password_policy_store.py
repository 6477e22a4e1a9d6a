"""The password policy in the directory table (``idp.directory.ports.PasswordPolicyRepository``), one item beside
the MFA policy's:

  PASSWORDPOLICY  POLICY   min_length, block_common, block_user_info, updated_at

No item: the defaults (min_length 12, both blocks on). Read once per password set (one GetItem)."""
from __future__ import annotations

from typing import Any

from idp.adapters.dynamo import from_ddb
from idp.directory.password_policy import PasswordPolicy
from idp.kernel.clock import now_iso

POLICY_KEY = {"pk": "PASSWORDPOLICY", "sk": "POLICY"}


class PasswordPolicyStore:
    def __init__(self, table: Any) -> None:
        self.table = table

    def get_policy(self) -> PasswordPolicy:
        item = self.table.get_item(Key=dict(POLICY_KEY)).get("Item")
        if not item:
            return PasswordPolicy()
        item = from_ddb(item)
        defaults = PasswordPolicy()
        return PasswordPolicy(min_length=int(item.get("min_length", defaults.min_length)),
                              block_common=bool(item.get("block_common", defaults.block_common)),
                              block_user_info=bool(item.get("block_user_info", defaults.block_user_info)))

    def put_policy(self, policy: PasswordPolicy) -> None:
        self.table.put_item(Item={**POLICY_KEY, **policy.view(), "updated_at": now_iso()})
