"""The Jinja2 pages (autoescaping everywhere, so a hostile RelayState cannot break out of an
attribute): the auto-POST form that carries a SAML message to the SP with its CSP, and the
templates of the IdP's own pages."""

from __future__ import annotations

import base64
import hashlib
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from jinja2 import Environment

TEMPLATES_DIR = Path(__file__).parent / "templates"

_AUTO_SUBMIT_JS = "document.getElementById('saml-post').submit();"
#: CSP for the auto-POST page (only our one inline script may run; the form may post anywhere).
POST_FORM_CSP = (
    "default-src 'none'; script-src 'sha256-"
    + base64.b64encode(hashlib.sha256(_AUTO_SUBMIT_JS.encode()).digest()).decode()
    + "'; form-action *; base-uri 'none'; frame-ancestors 'none'"
)
#: CSP for our own pages (login, portal, errors).
PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"


@lru_cache(maxsize=1)
def environment() -> "Environment":
    """Built on the first page rendered (the metadata function renders only its error pages)."""
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    return Environment(
        loader=FileSystemLoader(str(TEMPLATES_DIR)),
        autoescape=select_autoescape(enabled_extensions=("html", "xml"), default_for_string=True, default=True),
        auto_reload=False,
    )


def render(template: str, **context) -> str:
    return environment().get_template(template).render(**context)


def render_post_form(action: str, value: str, relay_state: str | None = None, field_name: str = "SAMLResponse") -> str:
    """The self-submitting form that POSTs ``field_name`` (+ RelayState) to ``action``."""
    if field_name not in ("SAMLResponse", "SAMLRequest"):
        raise ValueError("field_name must be SAMLResponse or SAMLRequest")
    return render(
        "post_form.html",
        action=action,
        value=value,
        relay_state=relay_state,
        field_name=field_name,
        script=_AUTO_SUBMIT_JS,
    )


def render_error(status: int, title: str, message: str, *, code: str | None = None, hint: str | None = None, home_url: str | None = None) -> str:
    return render("error.html", status=status, title=title, message=message, code=code, hint=hint, home_url=home_url)
