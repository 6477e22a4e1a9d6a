"""The request value the web edge reads once (idp.web.request): what it keeps of an API Gateway v2 event."""
from __future__ import annotations

import base64
from dataclasses import FrozenInstanceError

import pytest
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2

from idp.kernel.errors import DomainError
from idp.web.request import MAX_BODY, WebRequest, current_request, from_event
from idp_testing.lambda_events import http_event

RAW_QUERY = "SAMLRequest=fZ%2fLb&RelayState=a%20b%26c&SigAlg=x&Signature=s%3d"


def _event(method="GET", path="/saml2/a", raw_query="", body=None, b64=False, headers=None, cookies=None, **kw) -> APIGatewayProxyEventV2:
    raw = http_event(method, path, token=None, raw_body=body, headers={"content-type": "application/x-www-form-urlencoded",
                                                                       **(headers or {})}, **kw)
    raw["rawQueryString"] = raw_query
    raw["queryStringParameters"] = {"RelayState": "a b&c", "SAMLRequest": "fZ/Lb"} if raw_query else None
    if b64 and body is not None:
        raw["body"], raw["isBase64Encoded"] = base64.b64encode(body.encode()).decode(), True
    if cookies is not None:
        raw["cookies"] = cookies
    return APIGatewayProxyEventV2(raw)


def test_keeps_the_raw_query_octets_and_the_decoded_query():
    req = from_event(_event(raw_query=RAW_QUERY), public_base_url=None)
    assert req.raw_query == RAW_QUERY  # lowercase escapes as received: Redirect signatures cover these octets
    assert req.query["RelayState"] == "a b&c" and req.method == "GET" and req.path == "/saml2/a"


@pytest.mark.parametrize("b64", [False, True])
def test_form_of_a_post_last_value_wins(b64):
    req = from_event(_event("POST", body="SAMLRequest=abc%2B&RelayState=r&x=1&x=2&empty=", b64=b64), public_base_url=None)
    assert dict(req.form) == {"SAMLRequest": "abc+", "RelayState": "r", "x": "2", "empty": ""}


def test_no_form_for_a_get_or_when_not_asked():
    assert dict(from_event(_event("GET", body="a=1"), public_base_url=None).form) == {}
    req = from_event(_event("POST", body='{"a": 1}'), public_base_url=None, with_form=False)
    assert dict(req.form) == {} and req.body == '{"a": 1}'


def test_a_post_body_over_the_limit_is_a_413():
    with pytest.raises(DomainError) as ei:
        from_event(_event("POST", body="a=" + "x" * MAX_BODY), public_base_url=None)
    assert (ei.value.status, ei.value.code) == (413, "body_too_large")
    # the admin API reads its JSON body later, through the same check
    assert from_event(_event("POST", body="x" * (MAX_BODY + 1)), public_base_url=None, with_form=False).body


def test_cookies_from_the_v2_list_and_the_header_junk_ignored():
    req = from_event(_event(cookies=["idp_session=s1", "bad cookie=\x00;;", "idp_browser=b1"], headers={"Cookie": "other=o"}),
                     public_base_url=None)
    assert req.cookies["idp_session"] == "s1" and req.cookies["idp_browser"] == "b1" and req.cookies["other"] == "o"


def test_client_address_and_headers():
    req = from_event(_event(source_ip="203.0.113.9", headers={"X-Custom": "v"}), public_base_url=None)
    assert req.client_ip == "203.0.113.9" and req.headers["x-custom"] == "v"


def test_base_url_is_the_configured_one_else_api_gateways_own():
    event = _event(headers={"host": "abc.execute-api.us-east-1.amazonaws.com", "x-forwarded-proto": "https"})
    event.raw_event["requestContext"]["domainName"] = "abc.execute-api.us-east-1.amazonaws.com"
    assert from_event(event, public_base_url="https://sso.example.com").base_url == "https://sso.example.com"
    assert from_event(event, public_base_url=None).base_url == "https://abc.execute-api.us-east-1.amazonaws.com"


@pytest.mark.parametrize("headers", [
    {"x-forwarded-host": "evil.example", "x-forwarded-proto": "http"},
    {"host": "evil.example"},
    {"host": "evil.example", "x-forwarded-host": "evil.example", "forwarded": "host=evil.example;proto=http"},
])
def test_the_client_never_chooses_the_idps_urls(headers):
    """Entity ID, SSO/SLO URLs and the Destination check follow the configuration or API Gateway's own
    domain, never a header a client (or a proxy it talks to) sent."""
    event = _event(headers=headers)
    event.raw_event["requestContext"]["domainName"] = "abc.execute-api.us-east-1.amazonaws.com"
    assert from_event(event, public_base_url=None).base_url == "https://abc.execute-api.us-east-1.amazonaws.com"
    assert from_event(event, public_base_url="https://sso.example.com").base_url == "https://sso.example.com"


def test_frozen():
    req = WebRequest("GET", "/")
    with pytest.raises(FrozenInstanceError):
        req.method = "POST"
    with pytest.raises(TypeError):
        req.query["x"] = "y"


@pytest.fixture
def container():
    from idp import bootstrap
    from idp.settings import Settings

    yield bootstrap.use(bootstrap.Container(Settings.load({"PUBLIC_BASE_URL": "https://sso.example.com"})))
    bootstrap.reset()


def test_current_request_is_read_once_per_event(container):
    class _Router:  # what current_request uses of a powertools router
        def __init__(self, event):
            self.current_event, self.context = event, {}

    router = _Router(_event("POST", body="a=1"))
    first = current_request(router)
    assert current_request(router) is first and dict(first.form) == {"a": "1"}
    assert first.base_url == "https://sso.example.com"  # PUBLIC_BASE_URL from the container's settings
    assert current_request(router, with_form=False) is not first
    router.current_event = _event("POST", body="a=2")
    assert current_request(router).form["a"] == "2"  # a new request, a new value
