"""The stand-in over real HTTP: SCIM with its token, the provisioning page, SP-initiated and
IdP-initiated SAML sign-in against a test IdP whose metadata is served from a local port."""
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from lxml import etree

from idp_testing.standin_idp import authn_request_from_location, tamper
from officespace_standin.server import start_standin

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ROOT = Path(__file__).resolve().parents[3]


def scim_session(handle):
    s = requests.Session()
    s.headers.update({"Authorization": f"Bearer {handle.scim_token}", "Content-Type": "application/scim+json"})
    return s


def test_handle_describes_the_sp(standin, idp_server):
    assert standin.port > 0
    assert standin.base_url == f"http://127.0.0.1:{standin.port}"
    assert standin.acs_url == f"{standin.base_url}/users/sign_in/saml"
    assert standin.scim_base_url == f"{standin.base_url}/scim/v2"
    assert standin.sp_entity_id == "127.0.0.1"
    assert standin.scim_token == "test-scim-token-1234"
    assert standin.metadata_url == f"{idp_server.base_url}/saml2/officespace/metadata"
    assert requests.get(f"{standin.base_url}/healthz", timeout=5).status_code == 200


def test_random_scim_token_when_none_given(idp_server):
    a = start_standin("127.0.0.1", 0, idp_server.base_url)
    b = start_standin("127.0.0.1", 0, idp_server.base_url)
    try:
        assert len(a.scim_token) >= 32 and a.scim_token != b.scim_token
        assert requests.get(f"{a.scim_base_url}/Users", timeout=5).status_code == 401
        ok = requests.get(f"{a.scim_base_url}/Users", headers={"Authorization": f"Bearer {a.scim_token}"}, timeout=5)
        assert ok.status_code == 200
        # each stand-in has its own token and store
        assert requests.get(f"{a.scim_base_url}/Users", headers={"Authorization": f"Bearer {b.scim_token}"},
                            timeout=5).status_code == 401
    finally:
        a.stop()
        b.stop()


def test_scim_needs_the_token_and_provisioning_shows_up_on_the_page(standin):
    url = standin.scim_base_url
    assert requests.get(f"{url}/Users", timeout=5).status_code == 401
    assert requests.get(f"{url}/Users", headers={"Authorization": "Bearer nope"}, timeout=5).status_code == 401
    refused = requests.post(f"{url}/Users", json={"schemas": [USER], "userName": "x@example.com"}, timeout=5)
    assert refused.status_code == 401

    s = scim_session(standin)
    created = s.post(f"{url}/Users", timeout=5, json={
        "schemas": [USER], "userName": "carol@example.com", "externalId": "dir-carol", "active": True,
        "name": {"givenName": "Carol", "familyName": "Danvers"},
        "emails": [{"value": "carol@example.com", "primary": True, "type": "work"}]})
    assert created.status_code == 201, created.text
    user = created.json()
    assert created.headers["Location"] == f"{url}/Users/{user['id']}"
    conflict = s.post(f"{url}/Users", json={"schemas": [USER], "userName": "CAROL@example.com"}, timeout=5)
    assert conflict.status_code == 409

    listed = s.get(f"{url}/Users", params={"filter": 'userName eq "carol@example.com"'}, timeout=5).json()
    assert listed["totalResults"] == 1 and listed["Resources"][0]["id"] == user["id"]

    group = s.post(f"{url}/Groups", json={"schemas": [GROUP], "displayName": "Finance",
                                          "members": [{"value": user["id"]}]}, timeout=5)
    assert group.status_code == 201

    page = requests.get(f"{standin.base_url}/provisioning", timeout=5)
    assert page.status_code == 200
    assert '<meta http-equiv="refresh" content="2">' in page.text
    row = re.search(r'<tr data-testid="provisioning-user-row" data-username="carol@example.com" data-active="true">(.*?)</tr>',
                    page.text, re.S)
    assert row, page.text
    assert "Carol Danvers" in row.group(1) and "dir-carol" in row.group(1) and user["id"] in row.group(1)
    assert 'data-group-name="Finance" data-member-count="1"' in page.text

    # Deprovisioning (active: false) is visible on the next refresh.
    patched = s.patch(f"{url}/Users/{user['id']}", timeout=5, json={
        "schemas": [PATCH], "Operations": [{"op": "replace", "path": "active", "value": False}]})
    assert patched.status_code in (200, 204)
    page = requests.get(f"{standin.base_url}/provisioning", timeout=5).text
    assert 'data-username="carol@example.com" data-active="false"' in page

    assert s.delete(f"{url}/Users/{user['id']}", timeout=5).status_code == 204
    assert requests.get(f"{standin.base_url}/provisioning.json", timeout=5).json()["users"] == []


def test_sp_initiated_sign_in_end_to_end(standin, idp_server):
    idp = idp_server.idp
    browser = requests.Session()
    home = browser.get(f"{standin.base_url}/", timeout=5)
    assert 'data-testid="sign-in-button"' in home.text and "Sign in with SSO" in home.text

    redirect = browser.get(f"{standin.base_url}/sso/login", allow_redirects=False, timeout=5)
    assert redirect.status_code == 302
    location = redirect.headers["Location"]
    assert location.startswith(idp.sso_url + "?")
    xml, query = authn_request_from_location(location)
    request = etree.fromstring(xml)
    assert request.get("AssertionConsumerServiceURL") == standin.acs_url
    assert request.get("Destination") == idp.sso_url
    assert query["RelayState"] == "/"

    attrs = {"email": ["dana@example.com"], "name": ["Dana Scully"], "first_name": ["Dana"], "last_name": ["Scully"]}
    saml_response = idp.response(acs_url=standin.acs_url, audience=standin.sp_entity_id, nameid="dana@example.com",
                                 in_response_to=request.get("ID"), attributes=attrs, session_index="_idx-99")
    acs = browser.post(standin.acs_url, data={"SAMLResponse": saml_response, "RelayState": query["RelayState"]},
                       timeout=10)
    assert acs.status_code == 200, acs.text
    assert '<code data-testid="nameid">dana@example.com</code>' in acs.text
    assert '<code data-testid="session-index">_idx-99</code>' in acs.text
    assert '<code data-testid="relay-state">/</code>' in acs.text
    assert "SP-initiated" in acs.text
    for name, values in attrs.items():
        assert re.search(rf'data-attribute-name="{name}">\s*<td[^>]*>{name}</td>\s*<td[^>]*>{values[0]}</td>', acs.text)

    # The session sticks; the sign-in is logged.
    home = browser.get(f"{standin.base_url}/", timeout=5).text
    assert '<code data-testid="nameid">dana@example.com</code>' in home
    assert standin.sign_ins[0]["ok"] and standin.sign_ins[0]["flow"] == "sp-initiated"

    out = browser.post(f"{standin.base_url}/logout", timeout=5)
    assert out.status_code == 200 and 'data-testid="signed-out"' in out.text
    assert 'data-testid="sign-in-button"' in browser.get(f"{standin.base_url}/", timeout=5).text


def test_idp_initiated_accepted_tampered_and_replayed_rejected(standin, idp_server):
    idp = idp_server.idp
    good = idp.response(acs_url=standin.acs_url, audience=standin.sp_entity_id, nameid="eve@example.com",
                        attributes={"email": ["eve@example.com"], "name": ["Eve"]})
    tampered = tamper(good, "eve@example.com</saml:NameID>", "root@example.com</saml:NameID>")

    bad = requests.post(standin.acs_url, data={"SAMLResponse": tampered}, timeout=10)
    assert bad.status_code == 400
    assert 'data-testid="acs-error"' in bad.text and "Signature validation failed" in bad.text
    assert "root@example.com</code>" not in bad.text.split('data-testid="acs-error"')[0]

    ok = requests.post(standin.acs_url, data={"SAMLResponse": good, "RelayState": "/provisioning"}, timeout=10)
    assert ok.status_code == 200, ok.text
    assert '<code data-testid="nameid">eve@example.com</code>' in ok.text and "IdP-initiated" in ok.text

    replay = requests.post(standin.acs_url, data={"SAMLResponse": good}, timeout=10)
    assert replay.status_code == 400 and "replayed_response" in replay.text

    # A Response for another SP (audience) is refused too.
    other = idp.response(acs_url=standin.acs_url, audience="acme.officespacesoftware.com", nameid="eve@example.com")
    assert requests.post(standin.acs_url, data={"SAMLResponse": other}, timeout=10).status_code == 400

    log = requests.get(f"{standin.base_url}/sign-ins.json", timeout=5).json()["sign_ins"]
    assert [entry["ok"] for entry in log] == [False, False, True, False]


def test_app_created_after_the_standin_started(idp_server):
    idp_server.available = False  # the IdP app does not exist yet
    handle = start_standin("127.0.0.1", 0, idp_server.base_url, metadata_cache_seconds=60)
    try:
        early = requests.get(f"{handle.base_url}/sso/login", allow_redirects=False, timeout=10)
        assert early.status_code == 502 and "404" in early.text
        idp_server.available = True
        later = requests.get(f"{handle.base_url}/sso/login", allow_redirects=False, timeout=10)
        assert later.status_code == 302 and later.headers["Location"].startswith(idp_server.idp.sso_url)
    finally:
        handle.stop()


def test_bind_error_raises_and_stop_frees_the_port(idp_server):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(OSError):
            start_standin("127.0.0.1", taken.getsockname()[1], idp_server.base_url)

    handle = start_standin("127.0.0.1", 0, idp_server.base_url)
    port = handle.port
    handle.stop()
    handle.stop()  # idempotent
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
    again = start_standin("127.0.0.1", port, idp_server.base_url)
    try:
        assert requests.get(f"{again.base_url}/healthz", timeout=5).status_code == 200
    finally:
        again.stop()


def test_cli_runs_standalone_prints_the_token_and_stops_on_sigint(idp_server):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "officespace_standin", "--host", "127.0.0.1", "--port", str(port),
                             "--idp", idp_server.base_url], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    try:
        lines = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if "SCIM bearer token" in line:
                break
        token = lines[-1].split()[-1]
        assert "SCIM bearer token" in lines[-1], "".join(lines)
        base = f"http://127.0.0.1:{port}"
        assert requests.get(f"{base}/healthz", timeout=5).status_code == 200
        assert requests.get(f"{base}/scim/v2/Users", timeout=5).status_code == 401
        assert requests.get(f"{base}/scim/v2/Users", headers={"Authorization": f"Bearer {token}"},
                            timeout=5).status_code == 200
        login = requests.get(f"{base}/sso/login", allow_redirects=False, timeout=10)
        assert login.status_code == 302 and login.headers["Location"].startswith(idp_server.idp.sso_url)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
