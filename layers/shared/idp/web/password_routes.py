"""POST /password/forgot and POST /password/set, the password lifecycle's form submissions, as their own router:
deployed they are served by the admin function, which may write users' password hashes, the links and their
counters (the internet-facing login function only reads them, to show the forms). Neither needs a session: the
reset request answers the same whatever, and the link's own token authorizes setting the password."""
from __future__ import annotations

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from idp.web.request import current_request

router = Router()


# The routes carry no return annotation: powertools would build a response model of it (Response is none).
@router.post("/password/forgot", include_in_schema=False)
def forgot():
    from idp.web.pages import guard

    return guard(_forgot)()


@router.post("/password/set", include_in_schema=False)
def set_password():
    from idp.web.pages import guard

    return guard(_set)()


def _forgot() -> Response:
    from idp.web import password_pages

    return password_pages.forgot_submit(current_request(router))


def _set() -> Response:
    from idp.web import password_pages

    return password_pages.set_submit(current_request(router))
