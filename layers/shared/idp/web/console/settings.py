"""Settings: the global multi-factor sign-in policy (policy, grace period, the methods that count), as
GET|PUT /admin/mfa read and set it, through the MFA service."""
from __future__ import annotations

from idp.bootstrap import container
from idp.directory.models import parse
from idp.kernel.errors import DomainError
from idp.web.console.fields import FormErrors, checked
from idp.web.console.guard import Admin, console_route, page, see_other
from idp.web.console.router import console_router

FIELDS = ("policy", "grace_days", "methods")
METHODS = (("totp", "Authenticator app (TOTP)"), ("webauthn", "Passkey (WebAuthn)"))


def _page(admin: Admin, status: int = 200, errors: FormErrors | None = None, values: dict | None = None,
          notice: str | None = None):
    return page(status, "console/settings.html", admin, values=values or container().mfa.policy().view(), errors=errors,
                methods=METHODS, notice=notice)


@console_router.get("/console/settings")
@console_route(console_router)
def settings(admin: Admin):
    container().mfa.sealer.ensure()  # the login function's TOTP enrolment needs this key and may not create it
    return _page(admin, notice="Saved." if admin.request.query.get("done") == "saved" else None)


@console_router.post("/console/settings")
@console_route(console_router)
def save_settings(admin: Admin):
    from idp.signon.mfa.policy_body import MfaPolicySettings

    form = admin.form
    grace = (form.get("grace_days") or "").strip()
    body = {"policy": form.get("policy") or "", "methods": [m for m, _ in METHODS if checked(form, f"method_{m}")]}
    try:
        body["grace_days"] = int(grace) if grace else 0
        mfa = container().mfa
        chosen = parse(MfaPolicySettings, body)
        mfa.sealer.ensure()  # as PUT /admin/mfa: enrolment needs the seed key
        mfa.set_policy(chosen, actor=admin.actor, ip=admin.request.client_ip,
                       user_agent=admin.request.headers.get("user-agent"))
    except ValueError:
        exc = DomainError(400, "invalid_field", f"field 'grace_days': '{grace[:20]}' is not a whole number of days")
        return _page(admin, 400, FormErrors.of(exc, FIELDS), values={**body, "grace_days": grace})
    except DomainError as exc:
        errors = FormErrors.of(exc, FIELDS)
        return _page(admin, errors.status, errors, values={**body, "grace_days": grace})
    return see_other("/console/settings?done=saved")
