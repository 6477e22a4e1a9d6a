"""A thin SCIM 2.0 client on `requests`: one Session per SP, `application/scim+json`, a bearer token,
timeouts, and every failure classified (idp.scim.protocol) so the engine and the consumer can decide
what to do (retry later, adopt, re-match, give up, stop the app). An SP is not trusted to answer well;
each answer is read as a stream (`stream=True`, `iter_content`):
- at most `MAX_ANSWER_BYTES` (4 MB) of a 2xx body: past it the connection is dropped and `BadAnswer` (a
  `PermanentError`: asking again brings the same answer) names the cap; of an error answer only
  `MAX_ERROR_BYTES`, for its `detail`;
- an absolute deadline per request, `REQUEST_DEADLINE` (20 s by time.monotonic from before the connect
  to the last chunk; less inside a `deadline_scope`): a watchdog shuts the socket down when it passes,
  whether the SP trickles headers or body, and `DeadlineExceeded` (transient) names it;
- JSON that does not parse, nests deeper than `MAX_JSON_DEPTH`, or has the wrong shape (not an object,
  `Resources` not a list of objects, an `id` `check_scim_id` refuses such as `..`) is a `BadAnswer`;
- ids are checked again before they go in a path (and quoted with safe='')."""
from __future__ import annotations

import json
import socket
import threading
import time
from typing import Any, Callable, Iterator
from urllib.parse import quote

import requests
from requests.adapters import HTTPAdapter
from urllib3.util import Timeout

from idp.adapters.guarded_http import RefusedTarget, guarded_session
from idp.scim.protocol import (
    DEFAULT_TIMEOUT,
    MAX_ANSWER_BYTES,
    MAX_ERROR_BYTES,
    PATCH_SCHEMA,
    REQUEST_DEADLINE,
    SCIM_JSON,
    AuthError,
    BadAnswer,
    BudgetSpent,
    Conflict,
    DeadlineExceeded,
    Exchange,
    NotFound,
    PermanentError,
    PreconditionFailed,
    RetryLater,
    ScimError,
    ScimResponse,
    as_resource,
    check_scim_id,
    error_detail,
    list_resources,
    parse_answer,
    parse_retry_after,
    request_cap_seconds,
    scope_deadline,
)

CHUNK, POOL_SIZE = 64 * 1024, 32  # POOL_SIZE: connections kept per SP, a sync's most at once (planner.MAX_CONCURRENCY)


def _int(value: Any, default: int = 0) -> int:
    """SCIM numbers may arrive as strings."""
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):
        return default


# ---------------------------------------------------------------- the deadline watchdog
_current = threading.local()  # the watch of the request this thread is sending


class _Watch:
    """Shuts the request's socket down once its deadline passes (from a timer thread), so a blocked
    read returns at once whatever the SP trickles."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.conn = None  # the urllib3 connection (tracked pools), from before the headers are read
        self.response: requests.Response | None = None
        self.fired = self.done = False

    def fire(self) -> None:
        with self.lock:
            if self.done:
                return
            self.fired, sock = True, getattr(self.conn, "sock", None)
            try:
                sock.shutdown(socket.SHUT_RDWR) if sock is not None else self.response.raw.shutdown()
            except Exception:  # noqa: BLE001 - closed already, or not a socket we can reach
                pass

    def finish(self) -> None:
        with self.lock:
            self.done = True


_TRACKING: dict[type, type] = {}


def _tracking_pool(cls: type) -> type:
    """`cls` (a urllib3 connection pool) that hands each connection it lends to the thread's watch."""
    if cls not in _TRACKING:
        def _get_conn(self, timeout=None):
            conn = cls._get_conn(self, timeout)
            watch = getattr(_current, "watch", None)
            if watch is not None:
                watch.conn = conn
            return conn

        _TRACKING[cls] = type("Tracking" + cls.__name__, (cls,), {"_get_conn": _get_conn})
    return _TRACKING[cls]


def _track(session: requests.Session) -> requests.Session:
    for adapter in session.adapters.values():
        manager = getattr(adapter, "poolmanager", None) if isinstance(adapter, HTTPAdapter) else None
        if manager is not None:
            manager.pool_classes_by_scheme = {k: _tracking_pool(v) for k, v in manager.pool_classes_by_scheme.items()}
    return session


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
        deadline: float = REQUEST_DEADLINE,
        max_bytes: int = MAX_ANSWER_BYTES,
    ):
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = timeout
        # refuse_local (AWS): every connection's peer address is checked; internal addresses are refused.
        # Sessions built here lend their connections to the deadline watchdog (a given one: the body only).
        self.session = session or _track(guarded_session(POOL_SIZE, guarded=refuse_local))
        self.on_exchange = on_exchange
        # On a 429 with Retry-After: retry_wait(seconds, attempt) waits and returns True to send the
        # same request again (the SP did not act on it), or returns False to raise RetryLater.
        self.retry_wait = retry_wait
        self.deadline = deadline
        self.max_bytes = max_bytes
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

    def _timeouts(self, left: float) -> Timeout:
        connect, read = self.timeout if isinstance(self.timeout, tuple) else (self.timeout, self.timeout)
        return Timeout(connect=min(float(connect), left), read=min(float(read), left), total=left)

    def _request_once(self, method: str, path: str, *, params: dict | None = None, body: dict | None = None,
                      headers: dict | None = None) -> ScimResponse:
        url = self.base_url + path
        hdrs = {"Authorization": f"Bearer {self.token}", "Accept": f"{SCIM_JSON}, application/json",
                **({"Content-Type": SCIM_JSON} if body is not None else {}), **(headers or {})}
        if params:
            # Percent-encode everything (spaces as %20, never '+'): some SPs break on '+'.
            url += "?" + "&".join(f"{quote(str(k), safe='')}={quote(str(v), safe='')}" for k, v in params.items())
        data = None if body is None else json.dumps(body, separators=(",", ":")).encode()
        started = time.monotonic()
        cap, scoped, kw = request_cap_seconds(), scope_deadline(), {"method": method, "path": path}
        deadline = started + (cap if cap is not None and cap < self.deadline else self.deadline)
        cut_by_scope = deadline < started + self.deadline or (scoped is not None and scoped < deadline)
        deadline = min(deadline, scoped) if scoped is not None else deadline
        if deadline - started <= 0.01:
            self._record(method, path, 0, started, "deadline")
            raise BudgetSpent(f"{method} {path}: not sent, the time budget for this work is spent", **kw)
        late = BudgetSpent if cut_by_scope else DeadlineExceeded
        late_msg = (f"{method} {path}: the SP did not finish its answer within the "
                    + (f"{deadline - started:.1f} s left of the time budget" if cut_by_scope
                       else f"{self.deadline:g} s deadline of one request"))
        watch, response = _Watch(), None
        timer = threading.Timer(deadline - started, watch.fire)
        timer.daemon, _current.watch = True, watch
        timer.start()
        try:
            try:
                response = self.session.request(method, url, data=data, headers=hdrs, timeout=self._timeouts(deadline - started),
                                                allow_redirects=False, stream=True)
                watch.response = response
                ok = 200 <= response.status_code < 300
                raw = self._read(response, watch, deadline, self.max_bytes if ok else MAX_ERROR_BYTES, ok, kw)
            except (requests.RequestException, OSError) as exc:
                self._record(method, path, 0, started, "deadline" if watch.fired else _kind(exc))
                if watch.fired or time.monotonic() >= deadline - 0.05:  # cut by our deadline (its socket timeout too)
                    raise late(late_msg, **kw) from None
                raise _transport_error(exc, kw) from None
            except _Late:
                self._record(method, path, response.status_code if response is not None else 0, started, "deadline")
                raise late(late_msg, **kw) from None
            except _TooLarge as big:
                self._record(method, path, response.status_code, started, "too_large")
                raise BadAnswer(f"{method} {path} → {response.status_code}: the answer is larger than "
                                f"{self.max_bytes // (1024 * 1024)} MB ({big}); refused", status=response.status_code, **kw) from None
        finally:
            timer.cancel(), watch.finish()
            _current.watch = None
            if response is not None:
                response.close()
        self._record(method, path, response.status_code, started, None)
        return self._classify(method, path, response, raw)

    @staticmethod
    def _read(response: requests.Response, watch: _Watch, deadline: float, cap: int, strict: bool, kw: dict) -> bytes:
        """The body, chunk by chunk, while the deadline and `cap` allow. Past `cap`: an error answer is
        cut there (only its detail is wanted), a 2xx one is refused (`_TooLarge`)."""
        declared = _int(response.headers.get("Content-Length"), -1)
        if strict and declared > cap:
            raise _TooLarge(f"{declared} bytes announced")
        chunks, size = [], 0
        for chunk in response.iter_content(CHUNK):
            if watch.fired or time.monotonic() >= deadline:
                raise _Late()
            size += len(chunk)
            if size > cap:
                if strict:
                    raise _TooLarge(f"more than {cap} bytes read")
                chunks.append(chunk[: cap - (size - len(chunk))])
                break
            chunks.append(chunk)
        if watch.fired:
            raise _Late()
        return b"".join(chunks)

    def _record(self, method: str, path: str, status: int, started: float, error: str | None) -> None:
        ex = Exchange(method, path.split("?")[0], status, (time.monotonic() - started) * 1000, error)
        self.exchanges.append(ex)
        del self.exchanges[:-100]  # a long-lived client keeps the last ones only
        if self.on_exchange:
            self.on_exchange(ex)

    def _classify(self, method: str, path: str, response: requests.Response, raw: bytes = b"") -> ScimResponse:
        status = response.status_code
        kw = {"status": status, "method": method, "path": path}
        if 200 <= status < 300:
            return ScimResponse(status, parse_answer(method, path, raw, response.headers.get("Content-Type"), kw),
                                response.headers.get("ETag"), dict(response.headers))
        detail, scim_type = error_detail(status, response.reason, raw)
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
    def _path(self, resource: str, scim_id: str) -> str:
        problem = check_scim_id(scim_id)
        if problem:
            raise BadAnswer(f"refusing to send a request about SP {resource} id {str(scim_id)[:40]!r}: {problem}",
                            path=f"/{resource}")
        return f"/{resource}/{quote(scim_id, safe='')}"

    def get(self, resource: str, scim_id: str, *, params: dict | None = None) -> dict:
        path = self._path(resource, scim_id)
        return as_resource(self.request("GET", path, params=params).body, "GET", path)

    def create(self, resource: str, payload: dict) -> ScimResponse:
        """An answer without an `id` is left to the caller (it looks the resource up); one with an id
        `check_scim_id` refuses is a `BadAnswer`."""
        answer = self.request("POST", f"/{resource}", body=payload)
        if isinstance(answer.body, dict) and answer.body.get("id") not in (None, ""):
            as_resource(answer.body, "POST", f"/{resource}")
        return answer

    def replace(self, resource: str, scim_id: str, payload: dict, *, etag: str | None = None) -> ScimResponse:
        return self.request("PUT", self._path(resource, scim_id), body=payload,
                            headers={"If-Match": etag} if etag else None)

    def patch(self, resource: str, scim_id: str, operations: list[dict], *, etag: str | None = None) -> ScimResponse:
        body = {"schemas": [PATCH_SCHEMA], "Operations": operations}
        return self.request("PATCH", self._path(resource, scim_id), body=body,
                            headers={"If-Match": etag} if etag else None)

    def delete(self, resource: str, scim_id: str) -> None:
        self.request("DELETE", self._path(resource, scim_id))

    def search(self, resource: str, filter_: str, *, count: int = 10, excluded: str | None = None) -> list[dict]:
        """One page of a filtered search (matching needs no more than a handful)."""
        params = {"filter": filter_, "startIndex": 1, "count": count}
        if excluded:
            params["excludedAttributes"] = excluded
        body = self.request("GET", f"/{resource}", params=params).body or {}
        return list_resources(body, f"/{resource}")

    def iterate(self, resource: str, *, page_size: int = 100, excluded: str | None = None,
                max_pages: int = 10_000) -> Iterator[dict]:
        """Every resource, page by page (1-based startIndex; numbers may be strings)."""
        start = 1
        for _ in range(max_pages):
            params: dict[str, Any] = {"startIndex": start, "count": page_size}
            if excluded:
                params["excludedAttributes"] = excluded
            body = self.request("GET", f"/{resource}", params=params).body or {}
            items = list_resources(body, f"/{resource}")
            yield from items
            total = _int(body.get("totalResults"), 0)
            per_page = _int(body.get("itemsPerPage"), len(items)) or len(items)
            following = _int(body.get("startIndex"), start) + per_page
            start = following if following > start else start + len(items)  # never the same page again
            if not items or start > total:
                return


class _Late(Exception):  # the deadline passed while the body was read
    pass


class _TooLarge(Exception):  # a 2xx body over the cap
    pass


def _kind(exc: BaseException) -> str:
    if isinstance(exc, requests.Timeout):
        return "timeout"
    return "connection" if isinstance(exc, (requests.ConnectionError, OSError)) else type(exc).__name__


def _transport_error(exc: BaseException, kw: dict) -> ScimError:
    """No (whole) answer: transient, unless the guard refused the SP's address."""
    method, path = kw["method"], kw["path"]
    if isinstance(exc, requests.Timeout):
        return RetryLater(f"{method} {path}: the SP did not answer in time ({type(exc).__name__})", **kw)
    if isinstance(exc, requests.ConnectionError):
        refused = _refused(exc)
        if refused:
            return PermanentError(f"{method} {path}: {refused}", **kw)
        return RetryLater(f"{method} {path}: connection failed ({_root_cause(exc)})", **kw)
    if isinstance(exc, OSError):
        return RetryLater(f"{method} {path}: connection failed ({type(exc).__name__})", **kw)
    return RetryLater(f"{method} {path}: the answer was cut off ({type(exc).__name__})", **kw)


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
