"""POST /account/password, the account page's password change, as its own router: deployed it is served by
the admin function, which may write users and publish their change events (the internet-facing login
function may not); the signed-in user's IdP session and its CSRF token authorize it, not the admin token."""
from __future__ import annotations

from aws_lambda_powertools.event_handler.api_gateway import Router

from idp.web.request import current_request

router = Router()


@router.post("/account/password", include_in_schema=False)
def account_password():
    # The account page's modules (its pages, sign-in methods, MFA and session helpers) load with the first
    # password change, not at every cold start of the admin function, whose requests are admin API calls.
    from idp.web.pages import guard

    return guard(_password_change)()


def _password_change():
    from idp.web import account_routes

    return account_routes.password_change(current_request(router))
