"""A cookie-keeping browser of the console's Lambda routes (login and console routers), driven with API
Gateway v2 events against moto: forms are read from the pages as a browser reads them."""
from __future__ import annotations

import html
import re
import time
from urllib.parse import urlencode, urlsplit

from idp.signon.mfa import totp
from idp_testing.lambda_events import LambdaContext, http_event

#: The console tests' administrator and plain user (tests/integration/conftest.py creates them).
ADMIN = {"username": "root", "email": "root@example.com", "firstname": "Ro", "lastname": "Ot",
         "password": "summit-console-Pass1", "roles": ["admin"]}
PLAIN = {"username": "pat", "email": "pat@example.com", "firstname": "Pat", "lastname": "Plain",
         "password": "pat-console-Pass1"}

FORM_FIELD = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)"')


class Page:
    def __init__(self, answer: dict):
        self.status = answer["statusCode"]
        self.headers = {k.lower(): v for k, v in (answer.get("headers") or {}).items()}
        self.body = answer.get("body") or ""
        self.cookies = answer.get("cookies") or []

    @property
    def location(self) -> str | None:
        return self.headers.get("location")

    def hidden(self, name: str, action: str | None = None) -> str:
        """The value of hidden field ``name`` (in the form posting to ``action``, when given)."""
        text = self.body
        if action is not None:
            start = text.index(f'action="{action}"')
            text = text[start:text.index("</form>", start)]
        for field, value in FORM_FIELD.findall(text):
            if field == name:
                return html.unescape(value)
        raise AssertionError(f"no hidden field {name!r} on the page")

    @property
    def text(self) -> str:
        return html.unescape(re.sub(r"<[^>]+>", " ", self.body))

    def error_next_to(self, field: str) -> str:
        """The error text rendered beside ``field`` (its id="<field>-error" paragraph)."""
        match = re.search(rf'<p class="field-error" id="{field}-error" role="alert">([^<]*)</p>', self.body)
        assert match, f"no error next to {field}: {self.text[:2000]}"
        return match.group(1)


class Browser:
    def __init__(self, app):
        self.app = app
        self.jar: dict[str, str] = {}
        self.totp_secret: str | None = None  # the authenticator app enrolled from this browser
        self.recovery_codes: list[str] = []  # ... and the recovery codes it was shown

    def _send(self, method: str, path: str, form: dict | None = None) -> Page:
        parts = urlsplit(path)
        query = dict(p.split("=", 1) for p in parts.query.split("&") if "=" in p) if parts.query else None
        headers = {"content-type": "application/x-www-form-urlencoded"}
        if self.jar:
            headers["cookie"] = "; ".join(f"{k}={v}" for k, v in self.jar.items())
        event = http_event(method, parts.path, token=None, query=query, headers=headers,
                           raw_body=urlencode(form) if form is not None else None)
        page = Page(self.app.resolve(event, LambdaContext()))
        for cookie in page.cookies:
            name, _, rest = cookie.partition("=")
            value = rest.split(";", 1)[0]
            if "Max-Age=0" in cookie or not value:
                self.jar.pop(name, None)
            else:
                self.jar[name] = value
        return page

    def get(self, path: str) -> Page:
        return self._send("GET", path)

    def post(self, path: str, form: dict) -> Page:
        return self._send("POST", path, form)

    def login(self, username: str, password: str, start: str = "/login", code: str | None = None) -> Page:
        """Sign in through the IdP's login page (following the redirect from ``start``); ``code``: the second step's
        code (a TOTP or a recovery code) when the login asks for one."""
        page = self.get(start)
        if page.status == 302:
            page = self.get(page.location)
        assert page.status == 200, page.body
        form = {"login": page.hidden("login"), "csrf": page.hidden("csrf"), "username": username, "password": password}
        answer = self.post("/login", form)
        if code is not None:
            assert answer.status == 200 and 'name="code"' in answer.body, answer.body[:400]
            answer = self.post("/login", {"login": answer.hidden("login"), "csrf": answer.hidden("csrf"), "code": code})
        return answer

    def enrol_totp(self, setup_location: str) -> Page:
        """On the enrolment page a sign-in was sent to (``/account/setup?resume=...``): set up an authenticator app,
        confirm its first code, keep the secret and the recovery codes, and Continue; returns Continue's answer."""
        page = self.get(setup_location)
        assert page.status == 200 and "Set up authenticator app" in page.body, page.body[:400]
        csrf, resume = page.hidden("csrf", "/account/totp"), page.hidden("resume", "/account/totp")
        setup = self.post("/account/totp", {"csrf": csrf, "resume": resume})
        secret = re.search(r'data-testid="setup-key">([A-Z2-7]+)<', setup.body).group(1)
        done = self.post("/account/totp/confirm", {"csrf": csrf, "factor": setup.hidden("factor"), "resume": resume,
                                                   "code": totp.code_at(secret, time.time())})
        assert done.status == 200 and "Authenticator app added" in done.body, done.body[:400]
        self.totp_secret, self.recovery_codes = secret, re.findall(r"<li><code>([a-z0-9-]{19})</code></li>", done.body)
        return self.post("/account/resume", {"csrf": done.hidden("csrf", "/account/resume"),
                                             "resume": done.hidden("resume", "/account/resume")})
