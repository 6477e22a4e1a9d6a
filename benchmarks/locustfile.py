"""The load mix of `benchmarks/load.py` (run by the locust CLI in a process of its own): browsers that
sign in once and then SSO with their session, browsers that do a full login each time, and an
administrator reading the directory. The IdP's cookies are `Secure` (`__Host-`), which `requests`
would not send over the local plain http: each user keeps its cookies itself."""
from __future__ import annotations

import os
import re

from locust import HttpUser, between, task

APP = "officespace"
USERNAME, PASSWORD = "alice", "sunrise-demo-Pass1"
ADMIN_TOKEN = os.environ.get("LOAD_ADMIN_TOKEN", "")
_HIDDEN = re.compile(r'<input[^>]*name="(login|csrf)"[^>]*value="([^"]*)"', re.I)


class Browser(HttpUser):
    abstract = True
    wait_time = between(0.0, 0.05)

    def on_start(self):
        self.jar: dict[str, str] = {}

    def _headers(self) -> dict:
        return {"Cookie": "; ".join(f"{k}={v}" for k, v in self.jar.items())} if self.jar else {}

    def _keep(self, resp) -> None:
        for c in resp.cookies:
            if c.value:
                self.jar[c.name] = c.value
            else:
                self.jar.pop(c.name, None)

    def get(self, path: str, name: str):
        with self.client.get(path, headers=self._headers(), allow_redirects=False, name=name, catch_response=True) as r:
            self._keep(r)
            if r.status_code >= 400:
                r.failure(f"{r.status_code}")
            return r

    def login(self) -> bool:
        self.jar = {}
        r1 = self.get(f"/saml2/{APP}", "GET /saml2/{slug} (no session)")
        if r1.status_code != 302:
            return False
        r2 = self.get(r1.headers["Location"], "GET /login")
        fields = dict(_HIDDEN.findall(r2.text))
        with self.client.post("/login", data={**fields, "username": USERNAME, "password": PASSWORD}, headers=self._headers(),
                              allow_redirects=False, name="POST /login", catch_response=True) as r3:
            self._keep(r3)
            if r3.status_code != 200 or 'name="SAMLResponse"' not in r3.text:
                r3.failure(f"no SAMLResponse ({r3.status_code})")
                return False
        return True


class SsoWithSession(Browser):
    weight = 6

    def on_start(self):
        super().on_start()
        self.login()

    @task
    def sso(self):
        with self.client.get(f"/saml2/{APP}", headers=self._headers(), allow_redirects=False,
                             name="GET /saml2/{slug} (session)", catch_response=True) as r:
            if r.status_code != 200 or 'name="SAMLResponse"' not in r.text:
                r.failure(f"no SAMLResponse ({r.status_code})")


class FullLogin(Browser):
    weight = 2

    @task
    def full_login(self):
        self.login()


class AdminReader(HttpUser):
    weight = 2
    wait_time = between(0.0, 0.05)

    @task(3)
    def users(self):
        self.client.get("/admin/users?limit=20", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, name="GET /admin/users")

    @task(1)
    def apps(self):
        self.client.get("/admin/apps", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, name="GET /admin/apps")
