"""The user portal, GET / (contract section 3): the apps the signed-in user may open (an SSO launch
link, or the app's bookmark URL), and the Sign out button; not signed in, the login page."""
from __future__ import annotations

from aws_lambda_powertools.event_handler import Response

from idp.bootstrap import container
from idp.web.forms import render
from idp.web.pages import html, redirect
from idp.web.request import WebRequest
from idp.web.session_cookies import session_id


def portal(request: WebRequest) -> Response:
    """GET /."""
    view = container().portal.of(session_id(request))
    if view is None:
        return redirect("/login")
    body = render("portal.html", apps=view.apps, user_label=view.user_label, csrf=view.csrf, logout_action="/logout")
    return html(200, body)
