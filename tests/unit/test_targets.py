"""Admin-set URLs cannot point the connector at its own network (SSRF), in AWS or locally."""
from __future__ import annotations

import pytest

from idp.kernel import targets


@pytest.mark.parametrize("url, why", [
    ("http://os.example/scim/v2", "must use https"),
    ("ftp://os.example/scim", "not an https URL"),
    ("https://user:pw@os.example/scim", "credentials"),
    ("https://169.254.169.254/latest/meta-data", "link-local"),
    ("https://[fe80::1]/scim", "link-local"),
    ("https://127.0.0.1:8443/scim", "loopback"),
    ("https://localhost/scim", "loopback"),
    ("https://[::1]/scim", "loopback"),
    ("https://10.0.0.5/scim", "private"),
    ("https://192.168.1.10/scim", "private"),
    ("https://172.16.0.1/scim", "private"),
    ("https://[fd00::1]/scim", "private or unique-local"),
    ("https://[::ffff:10.0.0.1]/scim", "private"),
    ("https://224.0.0.1/scim", "multicast"),
    ("https://0.0.0.0/scim", "unspecified"),
])
def test_the_scim_base_url_refuses_internal_targets_in_aws(url, why):
    with pytest.raises(ValueError, match=why):
        targets.check_url(url, allow_local=False, connect=True)


def test_public_https_targets_pass():
    for url in ("https://acme.officespacesoftware.com/api/scim/v2", "https://93.184.216.34/scim", "https://[2606:4700::1111]/scim"):
        assert targets.check_url(url, allow_local=False, connect=True) == url


def test_the_local_stack_may_use_loopback_over_http_but_nothing_else_over_http():
    assert targets.check_url("http://127.0.0.1:3001/scim/v2", allow_local=True, connect=True)
    assert targets.check_url("http://localhost:3001/acs", allow_local=True, connect=False)
    with pytest.raises(ValueError, match="https"):
        targets.check_url("http://os.example/acs", allow_local=True, connect=False)
    with pytest.raises(ValueError, match="link-local"):
        targets.check_url("https://169.254.169.254/", allow_local=True, connect=True)


def test_acs_urls_are_checked_for_the_scheme_only():
    # The browser, not the server, goes to an ACS URL: an internal host there is the SP's business.
    assert targets.check_url("https://10.1.2.3/acs", allow_local=False, connect=False)
    with pytest.raises(ValueError, match="https"):
        targets.check_url("http://127.0.0.1/acs", allow_local=False, connect=False)


@pytest.mark.parametrize("address, refused", [
    ("127.0.0.1", True), ("10.1.1.1", True), ("169.254.169.254", True), ("::1", True), ("fd12::1", True),
    ("8.8.8.8", False), ("2001:4860:4860::8888", False),
])
def test_connected_addresses(address, refused):
    assert (targets.refused_address(address, allow_local=False) is not None) is refused


def test_origin_is_scheme_host_and_port():
    assert targets.origin("https://A.example/scim/v2") == targets.origin("https://a.example:443/other")
    assert targets.origin("https://a.example/scim") != targets.origin("https://a.example:8443/scim")
    assert targets.origin("https://a.example/scim") != targets.origin("http://a.example/scim")
    assert targets.origin("https://a.example/scim") != targets.origin("https://b.example/scim")


@pytest.mark.parametrize("url, what", [
    ("https://2852039166/latest/meta-data", "link-local"),  # 169.254.169.254 as one decimal number
    ("https://0xa9fea9fe/", "link-local"),
    ("https://127.1/scim", "loopback"),
    ("https://0x7f000001/scim", "loopback"),
    ("https://0177.0.0.1/scim", "loopback"),
    ("https://167772161/scim", "private"),  # 10.0.0.1
    ("https://10.1/scim", "private"),
])
def test_numeric_host_forms_are_read_as_the_address_they_name(url, what):
    """Issue 22: `https://2852039166/` resolves to 169.254.169.254; it was accepted as a host name."""
    with pytest.raises(ValueError, match=what):
        targets.check_url(url, allow_local=False, connect=True)


@pytest.mark.parametrize("url", ["https://10.0.0.1/scim/v2", "https://192.168.1.20/scim", "https://[fd00::5]/scim",
                                 "https://167772161/scim", "https://172.16.0.9/scim"])
def test_the_local_stack_allows_loopback_but_no_private_range(url):
    """Contract section 2: only loopback is allowed locally (10.0.0.1 was accepted by the local stack)."""
    with pytest.raises(ValueError, match="private"):
        targets.check_url(url, allow_local=True, connect=True)
    assert targets.check_url("https://127.0.0.1:3001/scim/v2", allow_local=True, connect=True)
