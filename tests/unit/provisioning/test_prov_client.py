"""The SCIM client without sockets: a requests adapter answers."""
import email.utils
import io
import json
import time

import pytest
import requests
from requests.adapters import BaseAdapter

from idp.adapters.scim_client import ScimClient
from idp.scim.protocol import (
    AuthError,
    Conflict,
    NotFound,
    PermanentError,
    RetryLater,
    eq_filter,
    parse_retry_after,
)


class FakeAdapter(BaseAdapter):
    def __init__(self, answers):
        super().__init__()
        self.answers = list(answers)
        self.sent = []

    def send(self, request, **kwargs):
        self.sent.append(request)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        status, headers, body = answer
        r = requests.Response()
        r.status_code = status
        r.headers.update(headers)
        r.raw = io.BytesIO(body if isinstance(body, bytes) else json.dumps(body).encode())  # read as a stream
        r.request = request
        r.url = request.url
        r.reason = {200: "OK", 429: "Too Many Requests"}.get(status, "")
        return r

    def close(self):
        pass


def client_with(*answers):
    session = requests.Session()
    adapter = FakeAdapter(answers)
    session.mount("http://", adapter)
    return ScimClient("http://sp.test/scim/v2/", "tok", session=session), adapter


SCIM = {"Content-Type": "application/scim+json"}


def err(status, detail, scim_type=None):
    body = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"], "status": str(status), "detail": detail}
    if scim_type:
        body["scimType"] = scim_type
    return (status, SCIM, body)


def test_headers_and_filter_encoding():
    c, a = client_with((200, SCIM, {"totalResults": 0, "Resources": []}))
    c.search("Users", eq_filter("userName", 'a+b "q"\\x@example.com'))
    req = a.sent[0]
    assert req.headers["Authorization"] == "Bearer tok"
    assert req.headers["Accept"].startswith("application/scim+json")
    assert req.url.startswith("http://sp.test/scim/v2/Users?filter=userName%20eq%20%22a%2Bb%20%5C%22q%5C%22%5C%5Cx%40example.com%22")
    c2, a2 = client_with((201, SCIM, {"id": "1"}))
    c2.create("Users", {"userName": "x"})
    assert a2.sent[0].headers["Content-Type"] == "application/scim+json"


def test_eq_filter_escapes_quotes_and_backslashes():
    assert eq_filter("userName", 'a"b\\c') == 'userName eq "a\\"b\\\\c"'


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_seconds(status):
    c, _ = client_with((status, {"Retry-After": "7", "Content-Type": "text/html"}, b"<html>busy</html>"))
    with pytest.raises(RetryLater) as exc:
        c.get("Users", "1")
    assert exc.value.delay_seconds == 7 and exc.value.status == status


def test_retry_after_http_date():
    when = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 28 <= parse_retry_after(when) <= 31
    assert parse_retry_after("garbage") is None
    assert parse_retry_after(None) is None


@pytest.mark.parametrize("answer", [
    (500, SCIM, {"detail": "boom"}),
    (502, {}, b"bad gateway"),
    requests.Timeout("read timed out"),
    requests.ConnectionError(ConnectionResetError(104, "Connection reset by peer")),
])
def test_transient_failures_retry_later_without_delay(answer):
    c, _ = client_with(answer)
    with pytest.raises(RetryLater) as exc:
        c.get("Users", "1")
    assert exc.value.delay_seconds is None


def test_classification_of_4xx():
    c, _ = client_with(err(409, "exists", "uniqueness"), err(404, "no such user"), err(400, "bad title", "invalidValue"),
                       err(401, "who are you"), err(403, "forbidden"), (409, {}, b""))
    with pytest.raises(Conflict):
        c.create("Users", {})
    with pytest.raises(NotFound):
        c.get("Users", "x")
    with pytest.raises(PermanentError) as exc:
        c.patch("Users", "x", [])
    assert exc.value.status == 400 and exc.value.scim_type == "invalidValue" and "bad title" in exc.value.detail
    with pytest.raises(AuthError):
        c.get("Users", "x")
    with pytest.raises(AuthError):
        c.get("Users", "x")
    with pytest.raises(Conflict):  # a 409 without scimType or body
        c.create("Users", {})


def test_status_as_int_and_204_without_body():
    c, _ = client_with((400, SCIM, {"schemas": [], "status": 400, "detail": "nope"}), (204, {}, b""))
    with pytest.raises(PermanentError, match="nope"):
        c.create("Users", {})
    assert c.patch("Users", "1", [{"op": "replace", "path": "title", "value": "x"}]).body is None


def test_pagination_is_one_based_with_string_numbers():
    page1 = {"totalResults": "3", "startIndex": "1", "itemsPerPage": "2", "Resources": [{"id": "a"}, {"id": "b"}]}
    page2 = {"totalResults": "3", "startIndex": "3", "itemsPerPage": "1", "Resources": [{"id": "c"}]}
    c, a = client_with((200, SCIM, page1), (200, SCIM, page2))
    assert [r["id"] for r in c.iterate("Users", page_size=2)] == ["a", "b", "c"]
    assert "startIndex=1" in a.sent[0].url and "startIndex=3" in a.sent[1].url


# ---------------------------------------------------------------- in-invocation Retry-After
def test_429_is_sent_again_when_retry_wait_says_so():
    client, adapter = client_with((429, {"Retry-After": "1"}, b"slow down"),
                                  (201, {}, {"id": "abc", "userName": "a"}))
    asked = []
    client.retry_wait = lambda seconds, attempt: asked.append((seconds, attempt)) or True
    resp = client.create("Users", {"userName": "a"})
    assert resp.status == 201 and resp.body["id"] == "abc"
    assert asked == [(1.0, 1)]
    assert [r.method for r in adapter.sent] == ["POST", "POST"]
    assert adapter.sent[0].body == adapter.sent[1].body  # the same request again
    assert [ex.status for ex in client.exchanges] == [429, 201]


def test_429_raises_when_retry_wait_declines_or_there_is_none():
    client, adapter = client_with((429, {"Retry-After": "2"}, b"slow down"))
    client.retry_wait = lambda seconds, attempt: False
    with pytest.raises(RetryLater) as err:
        client.create("Users", {"userName": "a"})
    assert err.value.delay_seconds == 2.0 and len(adapter.sent) == 1

    client, adapter = client_with((429, {"Retry-After": "1"}, b"slow down"))
    with pytest.raises(RetryLater):
        client.create("Users", {"userName": "a"})
    assert len(adapter.sent) == 1


def test_503_and_429_without_retry_after_are_not_sent_again_inline():
    # a 503 may come from a proxy after the SP acted on the request: back to the queue as before
    for answer in ((503, {"Retry-After": "1"}, b"unavailable"), (429, {}, b"slow down")):
        client, adapter = client_with(answer)
        client.retry_wait = lambda seconds, attempt: pytest.fail("must not be asked")
        with pytest.raises(RetryLater):
            client.create("Users", {"userName": "a"})
        assert len(adapter.sent) == 1


def test_retry_wait_is_told_the_attempt_number_and_can_stop():
    client, adapter = client_with(*[(429, {"Retry-After": "1"}, b"slow down")] * 3)
    client.retry_wait = lambda seconds, attempt: attempt < 3
    with pytest.raises(RetryLater):
        client.get("Users", "x")
    assert len(adapter.sent) == 3
