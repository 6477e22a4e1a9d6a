"""POST /account/password, the account page's password change, as its own router: deployed it is served by
the admin function, which may write users and publish their change events (the internet-facing login
function may not); the signed-in user's IdP session and its CSRF token authorize it, not the admin token."""
from __future__ import annotations

from aws_lambda_powertools.event_handler.api_gateway import Router

from idp.web import account_routes
from idp.web.pages import guard
from idp.web.request import current_request

router = Router()


@router.post("/account/password", include_in_schema=False)
@guard
def account_password():
    return account_routes.password_change(current_request(router))
