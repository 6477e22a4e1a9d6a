"""The password policy on /account's password change (contract section 9), over HTTP through the Lambda
resolvers on moto: a new password the policy refuses is a 400 page whose message, naming the rule, stands
beside the "New password" field; the password stays as it was; a policy an administrator set applies."""
from __future__ import annotations

import html
import re

from idp.bootstrap import container
from idp.directory import models
from idp_testing.lambda_client import PASSWORD, LambdaClient
from idp_testing.mfa_http import change_password, password_step, signed_in, with_password_route
from idp_testing.saml_browser import parse_inputs

BESIDE = re.compile(r'<input type="password" id="new_password"[^>]*aria-describedby="new_password-error"[^>]*>\s*'
                    r'<p class="field-error" id="new_password-error" role="alert">(.*?)</p>')


def refusal(page) -> str:
    found = BESIDE.search(page.text)
    assert found, page.text[-2500:]
    return html.unescape(found.group(1))


def test_a_new_password_the_policy_refuses_is_shown_beside_the_field_naming_the_rule(world):
    with_password_route(world)
    uid = world.user["id"]  # ada Lovelace
    c = signed_in(world)
    csrf = parse_inputs(c.request("GET", "/account").text)["csrf"]
    before = container().store.get_user_item(uid)["password_hash"]
    for new, rule in (("Harbor-42", "min_length"), ("qwertyuiop2024", "block_common"),
                      ("Violet-LOVELACE-Harbor", "block_user_info")):
        page = change_password(c, csrf, PASSWORD, new)
        assert page.status == 400, page.text[-600:]
        message = refusal(page)
        assert message.startswith("The new password: ") and f"(password policy: {rule})" in message, message
    assert "must not contain the user's last name" in refusal(change_password(c, csrf, PASSWORD, "Violet-LOVELACE-Harbor"))
    assert container().store.get_user_item(uid)["password_hash"] == before  # nothing was set

    done = change_password(c, csrf, PASSWORD, "Amber-Orchard-Kettle-7")
    assert done.status == 200 and "Password changed" in done.text and not BESIDE.search(done.text)
    again = LambdaClient(world.resolver)
    assert password_step(again, again.request("GET", "/login"), password="Amber-Orchard-Kettle-7").status == 200


def test_the_policy_an_administrator_set_holds_on_the_account_page(world):
    with_password_route(world)
    container().directory.set_password_policy(models.parse(models.PasswordPolicySettings,
                                                           {"min_length": 30, "block_user_info": False}))
    c = signed_in(world)
    csrf = parse_inputs(c.request("GET", "/account").text)["csrf"]
    assert "at least 30 characters" in refusal(change_password(c, csrf, PASSWORD, "Amber-Orchard-Kettle-7"))
    assert change_password(c, csrf, PASSWORD, "Ada-Lovelace-Analytical-Engine-1843").status == 200
