"""The user portal (contract section 3): the use case behind GET /, the apps the signed-in user may open (the access
rule, `idp.kernel.access`), each with its SSO launch link or its bookmark URL, sorted by label, and who is signed in."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from idp.kernel import access
from idp.kernel.users import display_name
from idp.signon.models import SignedIn


@dataclass(frozen=True)
class PortalApp:
    """An app on the portal: `url` is /saml2/<slug> (IdP-initiated SSO), or the app's bookmark URL (`bookmark`)."""

    slug: str
    label: str
    url: str
    bookmark: bool


@dataclass(frozen=True)
class PortalView:
    """The signed-in user's portal: `user_label` (their name and email), the session's CSRF token (Sign out)."""

    apps: tuple[PortalApp, ...]
    user_label: str
    csrf: str


class PortalSignon(Protocol):
    def signed_in(self, session_id: str | None) -> SignedIn | None: ...


class PortalDirectory(Protocol):
    """What the portal reads of the directory (idp.adapters.directory_store.DirectoryStore)."""

    def apps_of_user(self, uid: str) -> list[str]: ...

    def groups_of_user(self, uid: str) -> list[str]: ...

    def apps_of_group(self, gid: str) -> list[str]: ...

    def get_app(self, slug: str) -> dict[str, Any] | None: ...


class Portal:
    def __init__(self, signon: PortalSignon, directory: PortalDirectory):
        self.signon, self.directory = signon, directory

    def of(self, session_id: str | None) -> PortalView | None:
        """The portal of the session's user; None when nobody is signed in (the login page)."""
        current = self.signon.signed_in(session_id)
        if current is None:
            return None
        d, uid = self.directory, current.uid
        slugs = access.apps_of_user(direct_apps=d.apps_of_user(uid), groups=d.groups_of_user(uid),
                                    apps_of_group=d.apps_of_group)
        apps = []
        for slug in sorted(slugs):
            app = d.get_app(slug)
            if not app:
                continue
            bookmark = app.get("bookmark_url")
            apps.append(PortalApp(slug, str(app.get("label") or slug), str(bookmark or f"/saml2/{slug}"), bool(bookmark)))
        apps.sort(key=lambda a: a.label.lower())
        user = current.user
        return PortalView(tuple(apps), f"{display_name(user)} ({user.get('email')})", current.session.csrf)
