"""Settings: the global multi-factor sign-in policy (policy, grace period, the methods that count), as
GET|PUT /admin/mfa read and set it, through the MFA service; and the password policy (minimum length,
common passwords, the user's own names), as GET|PUT /admin/password-policy, through the password policy use case
(idp.app.password_policy_admin).
Each section is its own form; a refusal shows beside its field, the other section keeps its stored values.
(The routes carry no return annotation: powertools, validating beside the typed admin routes in the local stack,
would build a response model from it.)"""
from __future__ import annotations

from aws_lambda_powertools.event_handler import Response

from idp.app.browser import Client
from idp.app.password_policy_admin import PasswordPolicyAdmin
from idp.bootstrap import container
from idp.directory.models import parse
from idp.kernel.errors import DomainError
from idp.web.console.fields import FormErrors, checked
from idp.web.console.guard import Admin, console_route, page, see_other
from idp.web.console.router import console_router

FIELDS = ("policy", "grace_days", "methods")
PASSWORD_FIELDS = ("min_length", "block_common", "block_user_info")
METHODS = (("totp", "Authenticator app (TOTP)"), ("webauthn", "Passkey (WebAuthn)"))
NOTICES = {"saved": "Saved.", "password_policy": "Password policy saved."}


def password_policy() -> PasswordPolicyAdmin:
    return container().password_policy_admin


def _page(admin: Admin, status: int = 200, errors: FormErrors | None = None, values: dict | None = None,
          notice: str | None = None, password_errors: FormErrors | None = None,
          password_values: dict | None = None) -> Response:
    return page(status, "console/settings.html", admin, values=values or container().mfa_admin.policy().view(), errors=errors,
                methods=METHODS, notice=notice, password_errors=password_errors,
                password_values=password_values or dict(password_policy().current().view()))


@console_router.get("/console/settings")
@console_route(console_router)
def settings(admin: Admin):
    return _page(admin, notice=NOTICES.get(admin.request.query.get("done") or ""))


@console_router.post("/console/settings")
@console_route(console_router)
def save_settings(admin: Admin):
    from idp.signon.mfa.policy_body import MfaPolicySettings

    form = admin.form
    grace = (form.get("grace_days") or "").strip()
    body = {"policy": form.get("policy") or "", "methods": [m for m, _ in METHODS if checked(form, f"method_{m}")]}
    try:
        body["grace_days"] = int(grace) if grace else 0
        chosen = parse(MfaPolicySettings, body)
        container().mfa_admin.set_policy(chosen, actor=admin.actor,
                                         client=Client(admin.request.client_ip, admin.request.headers.get("user-agent")))
    except ValueError:
        exc = DomainError(400, "invalid_field", f"field 'grace_days': '{grace[:20]}' is not a whole number of days")
        return _page(admin, 400, FormErrors.of(exc, FIELDS), values={**body, "grace_days": grace})
    except DomainError as exc:
        errors = FormErrors.of(exc, FIELDS)
        return _page(admin, errors.status, errors, values={**body, "grace_days": grace})
    return see_other("/console/settings?done=saved")


@console_router.post("/console/settings/password-policy")
@console_route(console_router)
def save_password_policy(admin: Admin):
    """As PUT /admin/password-policy, recorded as this administrator's change."""
    form = admin.form
    length = (form.get("min_length") or "").strip()
    body: dict[str, object] = {"block_common": checked(form, "block_common"),
                               "block_user_info": checked(form, "block_user_info")}
    try:
        try:
            body["min_length"] = int(length)
        except ValueError:
            raise DomainError(400, "invalid_field", f"field 'min_length': '{length[:20]}' is not a whole number "
                                                    "of characters (8 to 128)") from None
        password_policy().set(body, admin.acting)
    except DomainError as exc:
        errors = FormErrors.of(exc, PASSWORD_FIELDS)
        return _page(admin, errors.status, password_errors=errors, password_values={**body, "min_length": length})
    return see_other("/console/settings?done=password_policy")
