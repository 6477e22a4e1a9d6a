"""The user portal, GET / (contract section 3): the apps the signed-in user may open (an SSO launch
link, or the app's bookmark URL), and the Sign out button; not signed in, the login page."""
from __future__ import annotations

from aws_lambda_powertools.event_handler import Response

from idp.bootstrap import container
from idp.directory.access import apps_for_user
from idp.kernel.users import display_name
from idp.web.forms import render
from idp.web.pages import html, redirect
from idp.web.request import WebRequest
from idp.web.session_cookies import session_id


def portal(request: WebRequest) -> Response:
    """GET /."""
    current = container().signon.signed_in(session_id(request))
    if current is None:
        return redirect("/login")
    store = container().store
    entries = []
    for slug in apps_for_user(store, current.uid):
        app = store.get_app(slug)
        if not app:
            continue
        bookmark = app.get("bookmark_url")
        entries.append({"slug": slug, "label": app.get("label") or slug,
                        "url": bookmark or f"/saml2/{slug}", "bookmark": bool(bookmark)})
    entries.sort(key=lambda e: e["label"].lower())
    user = current.user
    body = render("portal.html", apps=entries, user_label=f"{display_name(user)} ({user.get('email')})",
                  csrf=current.session.csrf, logout_action="/logout")
    return html(200, body)
