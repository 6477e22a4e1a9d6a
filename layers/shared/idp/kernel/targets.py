"""Where the product may be told to send things: the rules for admin-set URLs (the SCIM base URL the
server connects to, the ACS and SLO URLs a browser is sent to) that keep an admin token from turning
the IdP into a proxy into its own network (server-side request forgery).

- Every such URL is `https`; plain `http` only to a loopback address, and only where local targets
  are allowed (the local stack; never in AWS).
- The SCIM transport never connects to loopback, private, link-local, multicast, reserved or
  unique-local addresses; where local targets are allowed (the local stack) loopback alone is.
- A host is classified as the resolver would read it: the numeric forms `getaddrinfo` accepts
  (`2852039166`, `127.1`, `0x7f000001`, `0177.0.0.1`) are normalised to the address they name first. The URL's host is checked here when an
  admin sets it; the transport checks the address it actually connected to again, so a name that
  resolves elsewhere later (DNS rebinding) gains nothing.
"""
from __future__ import annotations

import ipaddress
import re
import socket
from urllib.parse import urlsplit

_LOOPBACK_NAMES = ("localhost", "localhost.")


_NUMERIC_V4 = re.compile(r"^(0x[0-9a-f]+|[0-9]+)(\.(0x[0-9a-f]+|[0-9]+)){0,3}\.?$", re.IGNORECASE)


def _ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address a host names without DNS: dotted, IPv6 (bracketed or not), or one of the shorter,
    decimal, octal and hexadecimal IPv4 forms (inet_aton's, which the resolver also accepts)."""
    host = host.strip("[]")
    try:
        ip = ipaddress.ip_address(host.split("%")[0])
    except ValueError:
        if not _NUMERIC_V4.match(host):
            return None
        try:
            ip = ipaddress.IPv4Address(socket.inet_aton(host.rstrip(".")))
        except OSError:
            return None
    mapped = getattr(ip, "ipv4_mapped", None)
    return mapped or ip


def is_loopback_host(host: str) -> bool:
    ip = _ip(host)
    if ip is not None:
        return ip.is_loopback
    host = host.lower()
    return host in _LOOPBACK_NAMES or host.endswith(".localhost")


def refused_address(address: str, *, allow_local: bool) -> str | None:
    """Why the SCIM transport must not talk to this IP address, or None when it may."""
    ip = _ip(address)
    if ip is None:
        return f"'{address}' is not an IP address"
    if ip.is_loopback:
        return None if allow_local else "a loopback address"
    for test, what in ((ip.is_link_local, "a link-local address (cloud metadata lives there)"),
                       (ip.is_multicast, "a multicast address"), (ip.is_unspecified, "an unspecified address"),
                       (ip.is_reserved, "a reserved address")):
        if test:
            return what
    if ip.is_private:  # the local stack allows loopback, never a LAN or cloud-internal range
        return "a private or unique-local address"
    return None


def check_url(url: str, *, allow_local: bool, connect: bool) -> str:
    """`url` if it may be used, else ValueError saying why. `connect`: the server itself connects to it
    (the SCIM base URL), so the host must not be a refused address either."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme not in ("https", "http") or not host:
        raise ValueError(f"'{url}' is not an https URL")
    if parts.username or parts.password:
        raise ValueError("must not carry credentials in the URL")
    if parts.scheme == "http" and not (allow_local and is_loopback_host(host)):
        raise ValueError("must use https (plain http only to a loopback address of the local stack)")
    if connect:
        if is_loopback_host(host) and not allow_local:
            raise ValueError(f"'{host}' is a loopback address; the connector does not connect there")
        ip = _ip(host)
        reason = refused_address(str(ip), allow_local=allow_local) if ip is not None else None
        if reason:
            raise ValueError(f"'{host}' is {reason}; the connector does not connect there")
    return url


def origin(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) with the scheme's default port filled in: what a credential is bound to."""
    parts = urlsplit(url)
    port = parts.port or {"https": 443, "http": 80}.get(parts.scheme)
    return parts.scheme.lower(), (parts.hostname or "").lower(), port
