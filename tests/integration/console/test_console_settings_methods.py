"""Issue 23 item 5 on the console: the Settings page warns, beside the methods and before Save, that turning a
method off does not remove the factors users enrolled with it (they are still asked for, then replaced); and a
save that turns one off keeps an enrolled user's factor asked for."""
from __future__ import annotations

import re
import time

from idp.bootstrap import container
from idp.signon.mfa import totp


def _methods_fieldset(page) -> str:
    """The fieldset found by its legend, "Methods that count as a second factor", up to its end."""
    start = page.body.index("<legend>Methods that count as a second factor</legend>")
    return " ".join(re.sub(r"<[^>]+>", " ", page.body[start:page.body.index("</fieldset>", start)]).split())


def test_the_settings_page_warns_before_a_methods_change_that_affects_enrolled_users(admin_browser, people):
    page = admin_browser.get("/console/settings")
    assert page.status == 200
    fieldset = _methods_fieldset(page)
    assert "Authenticator app (TOTP)" in fieldset and "Passkey (WebAuthn)" in fieldset
    assert "Warning:" in fieldset and "does not remove the factors users already enrolled" in fieldset
    assert page.body.index("Warning:") < page.body.index(">Save</button>")  # read before saving

    # what the warning says holds: a user with an authenticator app, then passkeys only
    pat = people["plain"]
    mfa = container().mfa
    setup = mfa.begin_totp(pat["id"], pat["email"])
    assert mfa.confirm_totp(pat["id"], setup.factor_id, totp.code_at(setup.secret, time.time())) is not None
    csrf = page.hidden("csrf", "/console/settings")
    saved = admin_browser.post("/console/settings", {"csrf": csrf, "policy": "optional", "grace_days": "7",
                                                     "method_webauthn": "on"})
    assert saved.status == 303 and mfa.policy().view()["methods"] == ["webauthn"]
    assert [f["type"] for f in mfa.factors(pat["id"])] == ["totp"]  # not removed
    assert mfa.need(pat, None).value == "verify"  # and still asked for at the next sign-in
