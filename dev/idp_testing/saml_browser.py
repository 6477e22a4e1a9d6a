"""A minimal 'browser' over requests for driving the IdP's HTML flow, plus admin helpers."""

from __future__ import annotations

import html
import re
import uuid
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import requests
from requests.adapters import HTTPAdapter


@dataclass
class PostForm:
    action: str
    fields: dict

    @property
    def saml_response(self) -> str | None:
        return self.fields.get("SAMLResponse")

    @property
    def relay_state(self) -> str | None:
        return self.fields.get("RelayState")


_INPUT = re.compile(r"<input\b([^>]*)>", re.I)
_ATTR = re.compile(r'(\w[\w-]*)="([^"]*)"')


def parse_inputs(page: str) -> dict:
    out = {}
    for m in _INPUT.finditer(page):
        attrs = {k.lower(): html.unescape(v) for k, v in _ATTR.findall(m.group(1))}
        if "name" in attrs:
            out[attrs["name"]] = attrs.get("value", "")
    return out


def parse_post_form(page: str) -> PostForm | None:
    """The auto-POST form carrying a SAML message, if the page is one."""
    m = re.search(r'<form method="post" action="([^"]*)" id="saml-post">(.*?)</form>', page, re.S)
    if not m:
        return None
    return PostForm(html.unescape(m.group(1)), parse_inputs(m.group(2)))


class _FromAddress(HTTPAdapter):
    """Connections from one local address (e.g. 127.0.0.2: a second client on the loopback network)."""

    def __init__(self, source_ip: str, **kw):
        self.source_ip = source_ip
        super().__init__(**kw)

    def init_poolmanager(self, *args, **kw):
        kw["source_address"] = (self.source_ip, 0)
        super().init_poolmanager(*args, **kw)


class Browser:
    """Follows redirects itself and keeps cookies itself, as a browser does on http://127.0.0.1
    (a secure context: Secure cookies, ``__Host-`` ones too, are stored and sent; requests' own jar
    would drop them). ``source_ip`` connects from that local address (another client on loopback)."""

    def __init__(self, base_url: str, source_ip: str | None = None):
        self.base_url = base_url.rstrip("/")
        self.s = requests.Session()
        if source_ip:
            self.s.mount("http://", _FromAddress(source_ip))
        self.jar: dict[str, str] = {}
        self.raw_set_cookies: list[str] = []
        self.history: list[requests.Response] = []

    def url(self, path: str) -> str:
        return path if path.startswith("http") else self.base_url + path

    def _absorb(self, r: requests.Response) -> None:
        for raw in r.raw.headers.getlist("set-cookie"):
            self.raw_set_cookies.append(raw)
            first, *attrs = [p.strip() for p in raw.split(";")]
            name, _, value = first.partition("=")
            if any(a.lower() == "max-age=0" for a in attrs) or not value:
                self.jar.pop(name, None)
            else:
                self.jar[name] = value

    def request(self, method: str, path: str, data=None, follow: bool = True) -> requests.Response:
        url, hops = self.url(path), []
        for _ in range(10):
            headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.jar.items())} if self.jar else {}
            r = self.s.request(method, url, data=data, headers=headers, allow_redirects=False, timeout=15)
            self.s.cookies.clear()
            self._absorb(r)
            if follow and r.status_code in (301, 302, 303, 307, 308) and r.headers.get("Location"):
                hops.append(r)
                url = urljoin(url, r.headers["Location"])
                if r.status_code in (301, 302, 303):
                    method, data = "GET", None
                continue
            r.history = hops
            self.history.append(r)
            return r
        raise AssertionError("too many redirects")

    def get(self, path: str, **kw) -> requests.Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, data=None, **kw) -> requests.Response:
        return self.request("POST", path, data=data, **kw)

    def cookie(self, name: str) -> str | None:
        return self.jar.get(name)

    def set_cookies(self) -> list[str]:
        """Every Set-Cookie header seen so far (raw)."""
        return list(self.raw_set_cookies)

    def login(self, page: requests.Response, username: str, password: str, **extra) -> requests.Response:
        """Fill in and submit the login form found on ``page``."""
        fields = parse_inputs(page.text)
        assert "login" in fields and "csrf" in fields, f"no login form on {page.url}: {page.status_code} {page.text[:300]}"
        fields.update(username=username, password=password, **extra)
        return self.post(urljoin(page.url, "/login"), data=fields)


def no_saml_response(r: requests.Response) -> bool:
    """True when neither the page nor anything it redirected through carries a SAMLResponse."""
    for resp in list(r.history) + [r]:
        if "SAMLResponse" in resp.text or "SAMLResponse" in (resp.headers.get("Location") or ""):
            return False
    return True


# ------------------------------------------------------------------------------- admin


class Admin:
    def __init__(self, base_url: str, token: str):
        self.base_url = base_url.rstrip("/")
        self.s = requests.Session()
        self.s.headers["Authorization"] = f"Bearer {token}"

    def _ok(self, r: requests.Response, *codes):
        assert r.status_code in (codes or (200, 201, 204)), f"{r.request.method} {r.url}: {r.status_code} {r.text}"
        return r.json() if r.content and r.headers.get("content-type", "").startswith("application/json") else None

    def user(self, password: str = "Corr3ct-Horse-Battery", **kw) -> dict:
        tag = uuid.uuid4().hex[:8]
        body = {"username": f"user{tag}", "email": f"user{tag}@example.com", "firstname": "Ada",
                "lastname": f"Lovelace{tag}", "password": password, **kw}
        u = self._ok(self.s.post(self.base_url + "/admin/users", json=body))
        u["password"] = password
        return u

    def group(self, name=None) -> dict:
        return self._ok(self.s.post(self.base_url + "/admin/groups", json={"name": name or f"grp-{uuid.uuid4().hex[:8]}"}))

    def add_member(self, gid, uid):
        self._ok(self.s.put(f"{self.base_url}/admin/groups/{gid}/members/{uid}"))

    def patch_user(self, uid, **changes):
        return self._ok(self.s.patch(f"{self.base_url}/admin/users/{uid}", json=changes))

    def app(self, **kw) -> dict:
        slug = kw.pop("slug", None) or f"app-{uuid.uuid4().hex[:8]}"
        host = f"{slug}.sp.example.test"
        body = {"slug": slug, "label": kw.pop("label", f"App {slug}"), "sp_entity_id": host,
                "acs_urls": [f"https://{host}/users/sign_in/saml"], **kw}
        return self._ok(self.s.post(self.base_url + "/admin/apps", json=body))

    def get_app(self, slug) -> dict:
        return self._ok(self.s.get(f"{self.base_url}/admin/apps/{slug}"))

    def patch_app(self, slug, **changes) -> dict:
        return self._ok(self.s.patch(f"{self.base_url}/admin/apps/{slug}", json=changes))

    def bind_user(self, slug, uid):
        self._ok(self.s.put(f"{self.base_url}/admin/apps/{slug}/users/{uid}"))

    def bind_group(self, slug, gid):
        self._ok(self.s.put(f"{self.base_url}/admin/apps/{slug}/groups/{gid}"))

    def add_key(self, slug) -> dict:
        return self._ok(self.s.post(f"{self.base_url}/admin/apps/{slug}/keys"))

    def activate_key(self, slug, kid) -> dict:
        return self._ok(self.s.post(f"{self.base_url}/admin/apps/{slug}/keys/{kid}/activate"))

    def retire_key(self, slug, kid):
        return self._ok(self.s.delete(f"{self.base_url}/admin/apps/{slug}/keys/{kid}"))

    def keys(self, slug) -> list[dict]:
        return self._ok(self.s.get(f"{self.base_url}/admin/apps/{slug}/keys"))["items"]


def host_of(url: str) -> str:
    return urlsplit(url).netloc


def public_routes_problem(stack) -> str | None:
    """What is wrong with the public pages of a running stack, or None.

    powertools merges a Router's ``use()`` middlewares into the whole resolver on
    ``include_router``: an admin token check mounted in the same resolver as the SAML routers
    guards /login and /saml2/... too.
    """
    r = requests.get(stack.base_url + "/login", timeout=10)
    if r.status_code != 200 or "text/html" not in r.headers.get("content-type", ""):
        return (f"GET /login answered {r.status_code} {r.headers.get('content-type')}: {r.text[:120]!r} "
                "(an admin Router.use() middleware applies to every route of a shared resolver?)")
    return None
