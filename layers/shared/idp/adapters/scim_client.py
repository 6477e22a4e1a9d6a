"""A thin SCIM 2.0 client on `requests`: one Session per SP, `application/scim+json`, a bearer
token, timeouts, and every failure classified into one of the exceptions below so the engine and
the consumer can decide what to do (retry later, adopt, re-match, give up, stop the app)."""
from __future__ import annotations

import json
import time
from typing import Any, Callable, Iterator
from urllib.parse import quote

import requests

from idp.adapters.guarded_http import RefusedTarget, guarded_session
from idp.scim.protocol import (  # noqa: F401 - the client's errors and constants, re-exported
    DEFAULT_TIMEOUT,
    ERROR_SCHEMA,
    GROUP_SCHEMA,
    MAX_DETAIL,
    PATCH_SCHEMA,
    SCIM_JSON,
    USER_SCHEMA,
    AuthError,
    Conflict,
    Exchange,
    NotFound,
    PermanentError,
    PreconditionFailed,
    RetryLater,
    ScimError,
    ScimResponse,
    eq_filter,
    parse_retry_after,
)


def _int(value: Any, default: int = 0) -> int:
    """SCIM numbers may arrive as strings."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _error_detail(response: requests.Response) -> tuple[str, str | None]:
    """The SP's own words from a SCIM Error (`detail`, `scimType`), trimmed; else only the status."""
    text = response.text or ""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        detail = body.get("detail") or body.get("message") or body.get("error")
        scim_type = body.get("scimType")
        if isinstance(detail, (dict, list)):
            detail = json.dumps(detail)
        if detail:
            return str(detail)[:MAX_DETAIL], (str(scim_type) if scim_type else None)
        if body.get("Errors"):
            return json.dumps(body["Errors"])[:MAX_DETAIL], None
    # Not a SCIM error: say the status, never echo the body (an internal page, a proxy's error, a secret).
    del text
    return f"HTTP {response.status_code} {response.reason or ''}".strip() + " (not a SCIM error response)", None


# ---------------------------------------------------------------- the client
class ScimClient:
    """Talk SCIM to one SP. Methods return parsed bodies or raise a ScimError subclass."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        session: requests.Session | None = None,
        timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
        on_exchange: Callable[[Exchange], None] | None = None,
        retry_wait: Callable[[float, int], bool] | None = None,
        refuse_local: bool = False,
    ):
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = timeout
        # refuse_local (AWS): every connection's peer address is checked; internal addresses are refused.
        self.session = session or (guarded_session() if refuse_local else requests.Session())
        self.on_exchange = on_exchange
        # On a 429 with Retry-After: retry_wait(seconds, attempt) waits and returns True to send the
        # same request again (the SP did not act on it), or returns False to raise RetryLater.
        self.retry_wait = retry_wait
        self.exchanges: list[Exchange] = []

    # ---- transport
    def request(self, method: str, path: str, *, params: dict | None = None, body: dict | None = None,
                headers: dict | None = None) -> ScimResponse:
        attempt = 0
        while True:
            try:
                return self._request_once(method, path, params=params, body=body, headers=headers)
            except RetryLater as exc:
                # Only 429 (the SP refused the request without acting on it, and said when to
                # come back): any method can be sent again. A 503 may come from a proxy after the
                # SP acted, so it goes back to the queue as before.
                attempt += 1
                if (exc.status != 429 or exc.delay_seconds is None or self.retry_wait is None
                        or not self.retry_wait(exc.delay_seconds, attempt)):
                    raise

    def _request_once(self, method: str, path: str, *, params: dict | None = None, body: dict | None = None,
                      headers: dict | None = None) -> ScimResponse:
        url = self.base_url + path
        hdrs = {
            "Authorization": f"Bearer {self.token}",
            "Accept": f"{SCIM_JSON}, application/json",
        }
        if body is not None:
            hdrs["Content-Type"] = SCIM_JSON
        if headers:
            hdrs.update(headers)
        if params:
            # Percent-encode everything (spaces as %20, never '+'): some SPs break on '+'.
            url += "?" + "&".join(f"{quote(str(k), safe='')}={quote(str(v), safe='')}" for k, v in params.items())
        data = None if body is None else json.dumps(body, separators=(",", ":")).encode()
        started = time.monotonic()
        try:
            response = self.session.request(method, url, data=data, headers=hdrs, timeout=self.timeout, allow_redirects=False)
        except requests.Timeout as exc:
            self._record(method, path, 0, started, "timeout")
            raise RetryLater(f"{method} {path}: the SP did not answer in time ({type(exc).__name__})", method=method, path=path) from None
        except requests.ConnectionError as exc:
            self._record(method, path, 0, started, "connection")
            refused = _refused(exc)
            if refused:
                raise PermanentError(f"{method} {path}: {refused}", method=method, path=path) from None
            raise RetryLater(f"{method} {path}: connection failed ({_root_cause(exc)})", method=method, path=path) from None
        except requests.RequestException as exc:
            self._record(method, path, 0, started, type(exc).__name__)
            raise RetryLater(f"{method} {path}: {type(exc).__name__}", method=method, path=path) from None
        self._record(method, path, response.status_code, started, None)
        return self._classify(method, path, response)

    def _record(self, method: str, path: str, status: int, started: float, error: str | None) -> None:
        ex = Exchange(method, path.split("?")[0], status, (time.monotonic() - started) * 1000, error)
        self.exchanges.append(ex)
        if self.on_exchange:
            self.on_exchange(ex)

    def _classify(self, method: str, path: str, response: requests.Response) -> ScimResponse:
        status = response.status_code
        kw = {"status": status, "method": method, "path": path}
        if 200 <= status < 300:
            body = None
            if response.content:
                try:
                    parsed = response.json()
                except ValueError:
                    if method == "GET":
                        raise PermanentError(f"{method} {path}: the answer is not JSON ({response.headers.get('Content-Type')})", **kw) from None
                    parsed = None
                body = parsed if isinstance(parsed, dict) else None
            return ScimResponse(status, body, response.headers.get("ETag"), dict(response.headers))
        detail, scim_type = _error_detail(response)
        kw["scim_type"] = scim_type
        msg = f"{method} {path} → {status}: {detail}"
        if status in (429, 503):
            raise RetryLater(msg, parse_retry_after(response.headers.get("Retry-After")), **kw)
        if status >= 500 or status == 408:
            raise RetryLater(msg, parse_retry_after(response.headers.get("Retry-After")), **kw)
        if status in (401, 403):
            raise AuthError(msg, **kw)
        if status == 404:
            raise NotFound(msg, **kw)
        if status == 409:
            raise Conflict(msg, **kw)
        if status == 412:
            raise PreconditionFailed(msg, **kw)
        if 300 <= status < 400:
            raise PermanentError(f"{msg} (redirect to {response.headers.get('Location')}; check the base URL)", **kw)
        raise PermanentError(msg, **kw)

    # ---- resources
    def get(self, resource: str, scim_id: str, *, params: dict | None = None) -> dict:
        return self.request("GET", f"/{resource}/{quote(scim_id, safe='')}", params=params).body or {}

    def create(self, resource: str, payload: dict) -> ScimResponse:
        return self.request("POST", f"/{resource}", body=payload)

    def replace(self, resource: str, scim_id: str, payload: dict, *, etag: str | None = None) -> ScimResponse:
        return self.request("PUT", f"/{resource}/{quote(scim_id, safe='')}", body=payload,
                            headers={"If-Match": etag} if etag else None)

    def patch(self, resource: str, scim_id: str, operations: list[dict], *, etag: str | None = None) -> ScimResponse:
        body = {"schemas": [PATCH_SCHEMA], "Operations": operations}
        return self.request("PATCH", f"/{resource}/{quote(scim_id, safe='')}", body=body,
                            headers={"If-Match": etag} if etag else None)

    def delete(self, resource: str, scim_id: str) -> None:
        self.request("DELETE", f"/{resource}/{quote(scim_id, safe='')}")

    def search(self, resource: str, filter_: str, *, count: int = 10, excluded: str | None = None) -> list[dict]:
        """One page of a filtered search (matching needs no more than a handful)."""
        params = {"filter": filter_, "startIndex": 1, "count": count}
        if excluded:
            params["excludedAttributes"] = excluded
        body = self.request("GET", f"/{resource}", params=params).body or {}
        return list(body.get("Resources") or [])

    def iterate(self, resource: str, *, page_size: int = 100, excluded: str | None = None,
                max_pages: int = 10_000) -> Iterator[dict]:
        """Every resource, page by page (1-based startIndex; numbers may be strings)."""
        start = 1
        for _ in range(max_pages):
            params: dict[str, Any] = {"startIndex": start, "count": page_size}
            if excluded:
                params["excludedAttributes"] = excluded
            body = self.request("GET", f"/{resource}", params=params).body or {}
            items = list(body.get("Resources") or [])
            yield from items
            total = _int(body.get("totalResults"), 0)
            per_page = _int(body.get("itemsPerPage"), len(items)) or len(items)
            start = _int(body.get("startIndex"), start) + per_page
            if not items or start > total:
                return


def _refused(exc: BaseException) -> str | None:
    """The guard's reason when the connection was refused because of its target address."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, RefusedTarget):
            return str(seen).split(": ", 1)[-1]
        for arg in getattr(seen, "args", ()):
            if isinstance(arg, BaseException) and _refused(arg):
                return _refused(arg)
            reason = getattr(arg, "reason", None)
            if isinstance(reason, RefusedTarget):
                return str(reason).split(": ", 1)[-1]
        seen = seen.__cause__ or seen.__context__
    return None


def _root_cause(exc: BaseException) -> str:
    seen = exc
    while seen.__cause__ or seen.__context__:
        seen = seen.__cause__ or seen.__context__
    text = str(seen) or type(seen).__name__
    if "reset" in text.lower() or isinstance(seen, ConnectionResetError):
        return "connection reset by peer"
    if "refused" in text.lower():
        return "connection refused"
    if "Name or service not known" in text or "nodename nor servname" in text or "getaddrinfo" in text:
        return "the host name does not resolve"
    return text[:200]
