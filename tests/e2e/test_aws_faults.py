"""AWS failing (issue 25, item 2; contract section 13), on the local stack pointed (AWS_ENDPOINT_URL) at a
fault proxy in front of the embedded AWS: first 10% throttling and 2% errors on DynamoDB with errors on SQS,
SSM and Secrets Manager, then a 15 s DynamoDB outage, while sign-ins (login and SSO), admin writes (a user
created, then put in a bound group) and provisioning run. Then AWS is healthy again.

It must hold that no answer is a 5xx other than a 503, each 503 says Retry-After, nothing the admin API
confirmed is lost, a change answered 503 is there whole or not at all, and the SP converges."""
from __future__ import annotations

import threading
import time

import pytest
import requests

from idp_local.moto_server import EmbeddedAwsProcess
from idp_testing.aws_fault_proxy import AwsFaultProxy
from idp_testing.saml_browser import Browser
from idp_testing.scim_server import ScimServer
from idp_testing.sp_compare import difference, expected, wait_until_equal
from idp_testing.stack import start_stack, stop_stack

SLUG = "faulty"
TOKEN = "faults-scim-token-5d1e"
PASSWORD = "Sturdy-Passw0rd-Here"
FLAKY = {"throttle": {"dynamodb": 0.10}, "error": {"dynamodb": 0.02, "sqs": 0.05, "ssm": 0.05, "secretsmanager": 0.05}}
FLAKY_SECONDS, OUTAGE_SECONDS, CONVERGE_SECONDS = 20.0, 15.0, 90.0


class Seen:
    """Every answer the clients got, by what they were doing."""

    def __init__(self):
        self.lock = threading.Lock()
        self.answers: list[tuple[str, int, str, str | None, str]] = []  # (what, status, url, Retry-After, type)

    def add(self, what: str, r: requests.Response) -> None:
        with self.lock:
            for hop in [*r.history, r]:
                self.answers.append((what, hop.status_code, hop.url, hop.headers.get("Retry-After"),
                                     hop.headers.get("Content-Type", "")))

    def bad(self) -> list:
        return [a for a in self.answers if a[1] >= 500 and a[1] != 503]

    def unannounced_503(self) -> list:
        """503s without Retry-After, or not in the client's language (JSON for the admin API, a page otherwise)."""
        return [a for a in self.answers if a[1] == 503 and (not a[3] or (
            "application/json" not in a[4] if "/admin/" in a[2] else "text/html" not in a[4]))]


def _sign_in(base: str, username: str, seen: Seen) -> bool:
    browser = Browser(base)
    page = browser.get(f"/saml2/{SLUG}")
    seen.add("sso", page)
    if page.status_code != 200 or 'name="password"' not in page.text:
        return False
    answer = browser.login(page, username, PASSWORD)
    seen.add("login", answer)
    return answer.status_code == 200 and "SAMLResponse" in answer.text


@pytest.mark.timeout(600)
def test_no_500_nothing_confirmed_lost_and_the_sp_converges_while_aws_fails(tmp_path):
    aws = EmbeddedAwsProcess()
    aws.start()
    proxy = AwsFaultProxy(aws.get_host_and_port()).start()
    server = ScimServer(token=TOKEN)
    stack = None
    try:
        stack = start_stack(tmp_path, extra_env={"AWS_ENDPOINT_URL": proxy.url, "AWS_ACCESS_KEY_ID": "testing",
                                                 "AWS_SECRET_ACCESS_KEY": "testing", "LOCAL_OUTBOX_SECONDS": "1"})
        base, admin = stack.base_url, stack.admin()
        assert admin.post(f"{base}/admin/apps", json={
            "slug": SLUG, "label": "Faulty", "template": "officespace", "sp_entity_id": "faulty.example.com",
            "acs_urls": ["https://faulty.example.com/users/auth/saml/callback"]}, timeout=15).status_code == 201
        assert admin.put(f"{base}/admin/apps/{SLUG}/provisioning", json={
            "base_url": server.base_url, "token": TOKEN, "enabled": True, "group_management": True},
            timeout=15).status_code == 200
        gid = admin.post(f"{base}/admin/groups", json={"name": "staff"}, timeout=15).json()["id"]
        assert admin.put(f"{base}/admin/apps/{SLUG}/groups/{gid}", timeout=15).status_code == 204
        signers = []
        for i in range(3):
            uid = admin.post(f"{base}/admin/users", json={
                "username": f"signer{i}", "email": f"signer{i}@example.com", "firstname": "Sign", "lastname": f"In{i}",
                "password": PASSWORD}, timeout=15).json()["id"]
            assert admin.put(f"{base}/admin/groups/{gid}/members/{uid}", timeout=15).status_code == 204
            signers.append(f"signer{i}")

        seen, stop = Seen(), threading.Event()
        created: dict[int, tuple[int, str | None, int | None]] = {}  # i -> (create status, id, membership status)
        phase = {"now": "flaky"}
        flaky_creates: list[int] = []  # the statuses of the creates sent and answered while AWS was only flaky
        sign_ins = {"ok": 0, "refused": 0}

        def write() -> None:
            i = 0
            while not stop.is_set():
                body = {"username": f"w{i}", "email": f"w{i}@example.com", "firstname": "Writ", "lastname": f"Er{i}",
                        "title": "Staff"}
                sent_in = phase["now"]
                r = admin.post(f"{base}/admin/users", json=body, timeout=30)
                seen.add("create", r)
                if sent_in == phase["now"] == "flaky":
                    flaky_creates.append(r.status_code)
                uid = r.json().get("id") if r.status_code == 201 else None
                member = None
                if uid:
                    m = admin.put(f"{base}/admin/groups/{gid}/members/{uid}", timeout=30)
                    seen.add("member", m)
                    member = m.status_code
                created[i] = (r.status_code, uid, member)
                i += 1

        def sign() -> None:
            n = 0
            while not stop.is_set():
                ok = _sign_in(base, signers[n % len(signers)], seen)
                sign_ins["ok" if ok else "refused"] += 1
                n += 1

        workers = [threading.Thread(target=write), threading.Thread(target=sign)]
        proxy.set(**FLAKY)
        for w in workers:
            w.start()
        time.sleep(FLAKY_SECONDS)
        phase["now"] = "outage"
        proxy.set(**FLAKY, down={"dynamodb"})
        time.sleep(OUTAGE_SECONDS)
        proxy.set()  # healthy again
        stop.set()
        for w in workers:
            w.join(timeout=60)
        healed = time.monotonic()

        assert not seen.bad(), f"answers that are 5xx but not 503: {seen.bad()[:10]}"
        assert not seen.unannounced_503(), f"503 without Retry-After or of the wrong kind: {seen.unannounced_503()[:5]}"
        injected = dict(proxy.injected)
        assert injected.get(("dynamodb", "throttle")) and injected.get(("dynamodb", "down")), injected
        assert sign_ins["ok"] > 0 and sum(1 for c in created.values() if c[0] == 201) > 0, (sign_ins, created)
        assert any(a[1] == 503 for a in seen.answers), "the outage produced no 503 at all"
        # While AWS is only flaky, botocore's retries absorb nearly all of it (3 attempts: a call fails when
        # all three do, 0.12^3 of the time).
        confirmed_share = flaky_creates.count(201) / max(1, len(flaky_creates))
        assert confirmed_share >= 0.75, f"only {confirmed_share:.0%} of {len(flaky_creates)} creates confirmed while flaky"

        # Nothing the admin API confirmed is lost; what it answered 503 is there whole or not at all.
        users = {u["username"]: u for u in expected(admin, base).users.values()}
        members = {m["id"] for m in admin.get(f"{base}/admin/groups/{gid}/members?limit=200", timeout=15).json()["items"]}
        for i, (status, uid, member) in created.items():
            user = users.get(f"w{i}")
            if status == 201:
                assert user is not None and user["id"] == uid, f"w{i} was confirmed (201) and is gone"
            if user is not None:  # whole: every field as sent
                assert (user["email"], user["firstname"], user["lastname"], user["title"]) == \
                    (f"w{i}@example.com", "Writ", f"Er{i}", "Staff"), user
            if member == 204:
                assert uid in members, f"w{i}'s membership was confirmed (204) and is gone"

        # The SP converges once AWS is healthy (no reconcile: the hourly schedule does not run here).
        exp = expected(admin, base, bound_groups=[gid])
        took, problem = wait_until_equal(server, exp, since=healed, timeout=CONVERGE_SECONDS, interval=0.5)
        assert problem is None, f"the SP differs {CONVERGE_SECONDS} s after AWS healed: {problem}"
        print(f"answers {len(seen.answers)}, 503s {sum(1 for a in seen.answers if a[1] == 503)}, creates "
              f"{len(created)} ({sum(1 for c in created.values() if c[0] == 201)} confirmed; while flaky "
              f"{flaky_creates.count(201)} of {len(flaky_creates)}), sign-ins {sign_ins}, "
              f"injected {injected}, SP equal {took:.1f} s after AWS healed")
        assert difference(server, exp) is None
    finally:
        if stack is not None:
            stop_stack(stack)
        server.close()
        proxy.stop()
        aws.stop()
