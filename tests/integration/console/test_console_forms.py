"""The console's forms: a service's error shows next to the field it names with a 4xx; what a form
changes goes through the services (the same validation and events as the admin API); destructive
actions need their confirmation; the Token Key is never echoed."""
from __future__ import annotations

import pyotp

from idp.bootstrap import container


def _csrf(browser, path="/console"):
    return browser.get(path).hidden("csrf")


USER = {"username": "dana", "email": "dana@example.com", "firstname": "Dana", "lastname": "Doe"}


def test_create_user_errors_show_next_to_their_field(admin_browser):
    csrf = _csrf(admin_browser, "/console/users/new")
    page = admin_browser.post("/console/users/new", {**USER, "email": "not-an-email", "csrf": csrf})
    assert page.status == 400 and "email address" in page.error_next_to("email")
    assert 'value="dana"' in page.body  # what was typed stays in the form
    page = admin_browser.post("/console/users/new", {**USER, "password": "short", "csrf": csrf})
    assert page.status == 400 and "password" in page.error_next_to("password")
    page = admin_browser.post("/console/users/new", {**USER, "firstname": "", "csrf": csrf})
    assert page.status == 400 and page.error_next_to("firstname")
    page = admin_browser.post("/console/users/new", {**USER, "username": "root", "csrf": csrf})  # the admin's own
    assert page.status == 409 and "already taken" in page.error_next_to("username")
    assert container().store.find_user_id("username", "dana") is None


def test_create_and_edit_a_user_through_the_directory_service(admin_browser, people):
    csrf = _csrf(admin_browser, "/console/users/new")
    done = admin_browser.post("/console/users/new", {**USER, "password": "orchard-console-Pass1", "csrf": csrf})
    assert done.status == 303
    uid = done.location.split("/")[-1].split("?")[0]
    user = container().store.get_user(uid)
    assert user["email"] == "dana@example.com" and "roles" not in user
    assert container().store.get_user_item(uid)["password_hash"].startswith("$argon2")
    page = admin_browser.get(done.location)
    assert page.status == 200 and "User created." in page.text
    form = {**USER, "title": "Engineer", "admin_role": "on", "csrf": csrf}
    assert admin_browser.post(f"/console/users/{uid}", form).status == 303
    assert container().store.get_user(uid)["roles"] == ["admin"] and container().store.get_user(uid)["title"] == "Engineer"
    page = admin_browser.post(f"/console/users/{uid}", {**form, "email": "root@example.com"})
    assert page.status == 409 and "already taken" in page.error_next_to("email")
    # Suspend and activate, revoke sessions
    assert admin_browser.post(f"/console/users/{uid}/suspend", {"csrf": csrf}).status == 303
    assert container().store.get_user(uid)["state"] == "SUSPENDED"
    assert admin_browser.post(f"/console/users/{uid}/activate", {"csrf": csrf}).status == 303
    assert container().store.get_user(uid)["state"] == "ACTIVE"
    assert admin_browser.post(f"/console/users/{uid}/revoke-sessions", {"csrf": csrf}).status == 303


def test_an_admin_cannot_lock_themselves_out(admin_browser, people):
    uid, csrf = people["admin"]["id"], _csrf(admin_browser)
    page = admin_browser.post(f"/console/users/{uid}", {"username": "root", "email": "root@example.com",
                                                         "firstname": "Ro", "lastname": "Ot", "csrf": csrf})
    assert page.status == 400 and "own admin role" in page.text
    assert container().store.get_user(uid)["roles"] == ["admin"]
    assert admin_browser.post(f"/console/users/{uid}/suspend", {"csrf": csrf}).status == 400
    assert container().store.get_user(uid)["state"] == "ACTIVE"


def test_deleting_needs_the_confirmation(admin_browser, people):
    uid, csrf = people["plain"]["id"], _csrf(admin_browser)
    confirm = admin_browser.get(f"/console/users/{uid}/delete")
    assert confirm.status == 200 and "cannot be undone" in confirm.text and '<label for="confirm">' in confirm.body
    page = admin_browser.post(f"/console/users/{uid}/delete", {"csrf": csrf})
    assert page.status == 400 and "confirm" in page.error_next_to("confirm")
    assert container().store.get_user(uid) is not None
    assert admin_browser.post(f"/console/users/{uid}/delete", {"csrf": csrf, "confirm": "on"}).status == 303
    assert container().store.get_user(uid) is None


def test_groups_members_and_rename(admin_browser, people):
    csrf = _csrf(admin_browser, "/console/groups/new")
    page = admin_browser.post("/console/groups/new", {"name": "", "csrf": csrf})
    assert page.status == 400 and page.error_next_to("name")
    done = admin_browser.post("/console/groups/new", {"name": "Facilities", "csrf": csrf})
    gid = done.location.split("/")[-1].split("?")[0]
    page = admin_browser.post(f"/console/groups/{gid}/members", {"member": "nobody", "csrf": csrf})
    assert page.status == 404 and "nobody" in page.text
    assert admin_browser.post(f"/console/groups/{gid}/members", {"member": "pat@example.com", "csrf": csrf}).status == 303
    assert container().store.list_members(gid) == [people["plain"]["id"]]
    assert "pat@example.com" in admin_browser.get(f"/console/groups/{gid}").text
    clash = admin_browser.post("/console/groups/new", {"name": "Other", "csrf": csrf})
    page = admin_browser.post(f"/console/groups/{gid}", {"name": "other", "csrf": csrf})
    assert clash.status == 303 and page.status == 409 and "already exists" in page.error_next_to("name")
    assert admin_browser.post(f"/console/groups/{gid}/members/{people['plain']['id']}/remove", {"csrf": csrf}).status == 303
    assert container().store.list_members(gid) == []


def _new_app(browser, csrf, **fields):
    form = {"label": "OfficeSpace", "sp_entity_id": "acme.officespacesoftware.com",
            "acs_urls": "https://acme.officespacesoftware.com/users/sign_in/saml\n\n", "csrf": csrf, **fields}
    return browser.post("/console/apps/new/officespace", form)


def test_app_from_the_catalogue_its_errors_keys_and_access(admin_browser, people):
    csrf = _csrf(admin_browser, "/console/apps/new")
    catalogue = admin_browser.get("/console/apps/new")
    assert ">OfficeSpace</a>" in catalogue.body and ">Custom SAML</a>" in catalogue.body
    page = _new_app(admin_browser, csrf, acs_urls="ftp://acme/acs")
    assert page.status == 400 and "http" in page.error_next_to("acs_urls")
    page = _new_app(admin_browser, csrf, default_relay_state="x" * 81)
    assert page.status == 400 and "80 bytes" in page.error_next_to("default_relay_state")
    done = _new_app(admin_browser, csrf)
    assert done.status == 303 and done.location == "/console/apps/officespace/sso?done=created"
    app = container().store.get_app("officespace")
    assert app["acs_urls"] == ["https://acme.officespacesoftware.com/users/sign_in/saml"] and app["nameid"] == "email"
    assert _new_app(admin_browser, csrf).location.startswith("/console/apps/officespace-2/")  # a free slug
    sso = admin_browser.get("/console/apps/officespace/sso")
    fingerprint = app["signing_keys"][0]["fingerprint_sha256"]
    assert fingerprint in sso.text and 'href="/saml2/officespace/certificate.pem"' in sso.body
    assert 'href="/saml2/officespace/metadata"' in sso.body and "Export Metadata" in sso.text
    # Rotation: add next, activate only after the confirmation with OfficeSpace's warning, retire the old one.
    assert admin_browser.post("/console/apps/officespace/keys", {"csrf": csrf}).status == 303
    old, new = [k["kid"] for k in container().store.get_app("officespace")["signing_keys"]]
    confirm = admin_browser.get(f"/console/apps/officespace/keys/{new}/activate")
    assert "pins one certificate" in confirm.text
    assert admin_browser.post(f"/console/apps/officespace/keys/{new}/activate", {"csrf": csrf}).status == 400
    assert admin_browser.post(f"/console/apps/officespace/keys/{new}/activate", {"csrf": csrf, "confirm": "on"}).status == 303
    assert admin_browser.post(f"/console/apps/officespace/keys/{old}/retire", {"csrf": csrf, "confirm": "on"}).status == 303
    states = {k["kid"]: k["status"] for k in container().store.get_app("officespace")["signing_keys"]}
    assert states == {old: "retired", new: "active"}
    # Access: the checkbox of a group binds it; unchecking the page's boxes unbinds only what the page showed.
    gid = container().directory.create_group({"name": "Engineering"})["id"]
    tab = admin_browser.get("/console/apps/officespace/groups")
    assert f'<label for="bind_{gid}">Engineering</label>' in tab.body
    assert admin_browser.post("/console/apps/officespace/groups", {"csrf": csrf, "shown": gid, f"bind_{gid}": "on"}).status == 303
    assert container().store.app_group_bindings("officespace") == [gid]
    uid = people["plain"]["id"]
    assert admin_browser.post("/console/apps/officespace/users", {"csrf": csrf, "shown": uid, f"bind_{uid}": "on"}).status == 303
    assert admin_browser.post("/console/apps/officespace/groups", {"csrf": csrf, "shown": ""}).status == 303
    assert container().store.app_group_bindings("officespace") == [gid]  # not shown: left as it was
    assert admin_browser.post("/console/apps/officespace/groups", {"csrf": csrf, "shown": gid}).status == 303
    assert container().store.app_group_bindings("officespace") == []
    assert "direct" in admin_browser.get(f"/console/users/{uid}").text


def test_identity_management_keeps_the_token_write_only(admin_browser):
    csrf = _csrf(admin_browser, "/console/apps/new")
    _new_app(admin_browser, csrf)
    form = {"base_url": "http://127.0.0.1:9/scim/v2", "csrf": csrf, "op": "save"}
    page = admin_browser.post("/console/apps/officespace/identity-management", form)
    assert page.status == 400 and "token" in page.error_next_to("token")
    page = admin_browser.post("/console/apps/officespace/identity-management", {**form, "base_url": "ftp://x",
                                                                                  "token": "typed-token-9876543210"})
    assert page.status == 400 and page.error_next_to("base_url")
    assert "typed-token-9876543210" not in page.body  # not echoed back, not even after an error
    secret = "console-scim-token-0123456789"
    done = admin_browser.post("/console/apps/officespace/identity-management",
                              {**form, "token": secret, "group_management": "on"})
    assert done.status == 303
    prov = container().store.get_app("officespace")["provisioning"]
    assert prov["enabled"] is False and prov["group_management"] is True and "token" not in prov
    assert container().apps.scim_token("officespace") == secret
    page = admin_browser.get("/console/apps/officespace/identity-management")
    assert secret not in page.body and "A token is stored" in page.text
    # Test Connection saves, then tests: nothing listens on port 9, and the panel says so.
    page = admin_browser.post("/console/apps/officespace/identity-management", {**form, "op": "test"})
    assert page.status == 200 and 'data-testid="test-result" data-ok="false"' in page.body and secret not in page.body
    assert admin_browser.post("/console/apps/officespace/identity-management", {**form, "op": "activate"}).status == 303
    assert container().store.get_app("officespace")["provisioning"]["enabled"] is True


def test_a_full_connection_test_shows_each_steps_sp_status(admin_browser):
    # Given an app pointed at a SCIM server, When the administrator tests with a test user's email, Then each step's
    # row shows the SP's HTTP status (the steps carry it as `status`, contract section 4; the column was empty)
    from idp_testing.scim_server import ScimServer

    server = ScimServer(token="full-test-token-5e6f7a8b")
    try:
        csrf = _csrf(admin_browser, "/console/apps/new")
        _new_app(admin_browser, csrf)
        form = {"base_url": server.base_url, "token": "full-test-token-5e6f7a8b", "csrf": csrf, "op": "test",
                "test_email": "idp-test@acme.example"}
        page = admin_browser.post("/console/apps/officespace/identity-management", form)
        assert page.status == 200 and 'data-testid="test-result" data-ok="true"' in page.body, page.text
        assert "<td>create</td>" in page.body and "HTTP 201" in page.body and "HTTP 200" in page.body
    finally:
        server.close()


def test_console_changes_are_audited_as_the_signed_in_administrator(admin_browser, people):
    from idp.kernel.audit_log import AuditQuery

    csrf = _csrf(admin_browser, "/console/users/new")
    done = admin_browser.post("/console/users/new", {**USER, "password": "orchard-console-Pass1", "csrf": csrf})
    uid = done.location.split("/")[-1].split("?")[0]
    events, _ = container().audit.query(AuditQuery(type="admin.user.created", user_id=uid))
    assert len(events) == 1 and events[0]["actor"] == {"type": "admin", "id": people["admin"]["id"]}
    assert "orchard-console-Pass1" not in repr(events)


def test_sp_metadata_fills_the_sp_fields_without_saving(admin_browser):
    from idp_testing.saml_sp import SP_METADATA

    csrf = _csrf(admin_browser, "/console/apps/new")
    _new_app(admin_browser, csrf, sp_entity_id="placeholder.example.com")
    page = admin_browser.post("/console/apps/officespace/sso/metadata", {"csrf": csrf, "sp_metadata": "<oops"})
    assert page.status == 400 and "well-formed" in page.error_next_to("sp_metadata")
    page = admin_browser.post("/console/apps/officespace/sso/metadata", {"csrf": csrf, "sp_metadata": SP_METADATA})
    assert page.status == 200 and 'value="acme.officespacesoftware.com"' in page.body
    assert "https://acme.officespacesoftware.com/a\nhttps://acme.officespacesoftware.com/b</textarea>" in page.body
    assert container().store.get_app("officespace")["sp_entity_id"] == "placeholder.example.com"  # not saved yet


def test_identity_management_mapping_and_deletion_guard(admin_browser):
    csrf = _csrf(admin_browser, "/console/apps/new")
    _new_app(admin_browser, csrf)
    form = {"base_url": "http://127.0.0.1:9/scim/v2", "token": "t-0123456789", "csrf": csrf, "op": "save"}
    page = admin_browser.get("/console/apps/officespace/identity-management")
    assert "userName = email" in page.body and 'value="25"' in page.body  # the defaults, shown
    page = admin_browser.post("/console/apps/officespace/identity-management", {**form, "attribute_mapping": "displayName = displayname"})
    assert page.status == 400 and "userName" in page.error_next_to("attribute_mapping")
    page = admin_browser.post("/console/apps/officespace/identity-management", {**form, "max_deprovision_share": "lots"})
    assert page.status == 400 and "not a number" in page.error_next_to("max_deprovision_share")
    done = admin_browser.post("/console/apps/officespace/identity-management", {
        **form, "attribute_mapping": "userName = username\nname.givenName = firstname", "max_deprovision_share": "10",
        "deprovision_guard_min": "3"})
    assert done.status == 303
    prov = container().store.get_app("officespace")["provisioning"]
    assert prov["attribute_mapping"] == {"userName": "username", "name.givenName": "firstname"}
    assert float(prov["max_deprovision_share"]) == 0.1 and int(prov["deprovision_guard_min"]) == 3


def test_identity_management_requests_at_once(admin_browser):
    csrf = _csrf(admin_browser, "/console/apps/new")
    _new_app(admin_browser, csrf)
    form = {"base_url": "http://127.0.0.1:9/scim/v2", "token": "t-0123456789", "csrf": csrf, "op": "save"}
    page = admin_browser.get("/console/apps/officespace/identity-management")
    assert "Requests to the SP at once during a full sync" in page.body and 'value="16"' in page.body  # the default
    for bad, says in (("0", "greater than or equal to 1"), ("33", "less than or equal to 32"), ("many", "not a number")):
        page = admin_browser.post("/console/apps/officespace/identity-management", {**form, "max_concurrency": bad})
        assert page.status == 400 and says in page.error_next_to("max_concurrency"), bad
    done = admin_browser.post("/console/apps/officespace/identity-management", {**form, "max_concurrency": "4"})
    assert done.status == 303
    assert int(container().store.get_app("officespace")["provisioning"]["max_concurrency"]) == 4
    assert 'value="4"' in admin_browser.get("/console/apps/officespace/identity-management").body


def test_an_mfa_reset_removes_the_factors_after_its_confirmation(admin_browser, people):
    uid, csrf = people["plain"]["id"], _csrf(admin_browser)
    mfa = container().mfa
    setup = mfa.begin_totp(uid, "pat@example.com")
    assert mfa.confirm_totp(uid, setup.factor_id, pyotp.TOTP(setup.secret).now()) is not None
    page = admin_browser.get(f"/console/users/{uid}")
    assert 'data-testid="factor-row"' in page.body and "authenticator app" in page.text
    assert admin_browser.post(f"/console/users/{uid}/mfa-reset", {"csrf": csrf}).status == 400
    assert mfa.has_factor(uid)
    assert admin_browser.post(f"/console/users/{uid}/mfa-reset", {"csrf": csrf, "confirm": "on"}).status == 303
    assert not mfa.has_factor(uid)
    assert "No second factor enrolled." in admin_browser.get(f"/console/users/{uid}").text


def test_the_user_page_diagnoses_a_sign_in(admin_browser, people):
    csrf = _csrf(admin_browser, "/console/apps/new")
    _new_app(admin_browser, csrf)
    uid = people["plain"]["id"]
    page = admin_browser.get(f"/console/users/{uid}?diagnose=officespace")
    assert 'data-can-sign-in="false"' in page.body and "not bound to the app" in page.text
    container().directory.bind_user("officespace", uid, bind=True)
    page = admin_browser.get(f"/console/users/{uid}?diagnose=officespace")
    assert 'data-can-sign-in="true"' in page.body
    assert admin_browser.get(f"/console/users/{uid}?diagnose=nope").status == 404


def test_settings_set_the_global_mfa_policy_and_an_app_requires_mfa(admin_browser):
    csrf = _csrf(admin_browser, "/console/settings")
    page = admin_browser.post("/console/settings", {"csrf": csrf, "policy": "required", "grace_days": "400",
                                                     "method_totp": "on"})
    assert page.status == 400 and "grace_days" in page.error_next_to("grace_days")
    page = admin_browser.post("/console/settings", {"csrf": csrf, "policy": "required", "grace_days": "7"})
    assert page.status == 400 and "methods" in page.text  # at least one method
    assert admin_browser.post("/console/settings", {"csrf": csrf, "policy": "required", "grace_days": "7",
                                                     "method_totp": "on"}).status == 303
    assert container().mfa.policy().view() == {"policy": "required", "grace_days": 7, "methods": ["totp"]}
    _new_app(admin_browser, csrf)
    assert admin_browser.post("/console/apps/officespace", {"csrf": csrf, "label": "OfficeSpace", "mfa": "required"}).status == 303
    assert container().store.get_app("officespace")["mfa"] == "required"
