"""The password policy as an administrator reads and sets it (contract section 9), the use case behind
GET|PUT /admin/password-policy (idp.web.password_policy_routes) and the console's Settings page
(idp.web.console.settings): the stored policy, and a new one parsed from the body (a bad value is a 400 naming its
field), stored and recorded as ``admin.password_policy.updated`` by the administrator acting."""
from __future__ import annotations

from typing import TYPE_CHECKING

from idp.app.acting import Acting
from idp.directory.models import PasswordPolicySettings, parse
from idp.directory.password_policy import PasswordPolicy

if TYPE_CHECKING:
    from idp.directory.service import DirectoryService


class PasswordPolicyAdmin:
    def __init__(self, directory: DirectoryService) -> None:
        self.directory = directory

    def current(self) -> PasswordPolicy:
        """The stored policy (the defaults until an administrator sets one)."""
        return self.directory.password_policy()

    def set(self, body: object, by: Acting) -> PasswordPolicy:
        """Parse `body` (``min_length``, ``block_common``, ``block_user_info``; one left out takes its default) and
        store it as the policy every later password is checked against."""
        chosen = parse(PasswordPolicySettings, body)
        return self.directory.acting_as(by.actor, by.ip, by.user_agent).set_password_policy(chosen)
