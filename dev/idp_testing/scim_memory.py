"""An SP's SCIM API in memory, for engine unit tests without sockets: `InMemoryScim` holds the Users and
Groups and answers as scim2-server does (409 on a duplicate userName, 404 on an unknown id, 400
noTarget/invalidPath on a PATCH path it cannot apply, `eq` filters, 1-based pages, dangling member
ids kept on user delete), and `client_factory` builds `ScimApi` clients on it that raise the same
`idp.scim.protocol` errors as `ScimClient` (401 on a wrong token) and wait out a 429 through
`retry_wait` as it does. Faults are injected per call: `fail(method, resource, error, times)`, or
`intercept(...)` with a function that may raise, answer instead, or change the SP first.
`strict_members=True` makes it a strict SP: a group POST or PATCH naming a member id it does not hold
as a user is refused with 400 (scim2-server accepts them; some SPs do not)."""
from __future__ import annotations

import copy
import itertools
import re
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable
from urllib.parse import unquote

from idp.adapters.scim_client import ScimClient
from idp.scim.protocol import (
    ENTERPRISE_SCHEMA,
    GROUP_SCHEMA,
    USER_SCHEMA,
    AuthError,
    Conflict,
    NotFound,
    PermanentError,
    ScimError,
    ScimResponse,
)

LIST_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
_FILTER = re.compile(r'^\s*(?P<attr>[\w.:]+)\s+eq\s+"(?P<value>(?:[^"\\]|\\.)*)"\s*$', re.IGNORECASE)
_MEMBER_PATH = re.compile(r'^members\[value eq "(?P<value>[^"]+)"\]$', re.IGNORECASE)
_MULTI_PATH = re.compile(r'^(?P<attr>\w+)\[type eq "(?P<type>[^"]+)"\](\.(?P<sub>\w+))?$', re.IGNORECASE)
_CASE_EXACT = {"id", "externalid"}


@dataclass
class Intercept:
    """`fn(method, path, params, body)` runs before the SP answers a matching call: it may raise a
    ScimError (a fault), return a ScimResponse (answered instead) or anything else (the SP answers)."""

    method: str | None
    resource: str | None
    fn: Callable[[str, str, dict, Any], ScimResponse | None]
    times: int | None = 1  # None: every matching call
    hits: int = 0

    def matches(self, method: str, path: str) -> bool:
        if self.times is not None and self.hits >= self.times:
            return False
        if self.method and self.method.upper() != method:
            return False
        return not self.resource or path.split("/")[1] == self.resource


class InMemoryScim:
    def __init__(self, token: str = "secret", base_url: str = "https://sp.example.com/scim/v2", *,
                 strict_members: bool = False):
        self.token = token
        self.base_url = base_url.rstrip("/")
        self.strict_members = strict_members
        self.resources: dict[str, dict[str, dict]] = {"Users": {}, "Groups": {}}
        self.requests: list[tuple[str, str, dict, Any]] = []  # (method, path, params, body), as ScimServer records them
        self.intercepts: list[Intercept] = []
        self.lock = threading.RLock()
        self._ids = itertools.count(1)

    # ---------------------------------------------------------------- test controls
    def intercept(self, fn: Callable[[str, str, dict, Any], ScimResponse | None], method: str | None = None,
                  resource: str | None = None, times: int | None = 1) -> Intercept:
        hook = Intercept(method, resource, fn, times)
        with self.lock:
            self.intercepts.append(hook)
        return hook

    def fail(self, method: str | None, resource: str | None, error: ScimError | Callable[[], ScimError],
             times: int | None = 1) -> Intercept:
        """The next `times` matching calls raise `error` (an instance, copied per call, or a factory)."""

        def raise_it(m, path, params, body):
            exc = error() if callable(error) else copy.copy(error)
            exc.method, exc.path = exc.method or m, exc.path or path
            raise exc

        return self.intercept(raise_it, method, resource, times)

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for method, path, _, _ in self.requests:
            key = f"{method} {path.split('/')[1]}"
            out[key] = out.get(key, 0) + 1
        return out

    def reset_counts(self) -> None:
        with self.lock:
            self.requests.clear()

    def client_factory(self, base_url: str, token: str, *, timeout=None, on_exchange=None, retry_wait=None) -> "InMemoryScimClient":
        return InMemoryScimClient(self, base_url, token, on_exchange=on_exchange, retry_wait=retry_wait)

    # ---------------------------------------------------------------- reading and changing the SP without counting
    def list(self, resource: str) -> list[dict]:
        with self.lock:
            return [copy.deepcopy(r) for r in self.resources[resource].values()]

    def get(self, resource: str, scim_id: str) -> dict | None:
        with self.lock:
            found = self.resources[resource].get(scim_id)
            return copy.deepcopy(found) if found else None

    def user_by_name(self, name: str) -> dict | None:
        return next((u for u in self.list("Users") if str(u.get("userName", "")).casefold() == name.casefold()), None)

    def group_by_name(self, name: str) -> dict | None:
        return next((g for g in self.list("Groups") if g.get("displayName") == name), None)

    def create(self, resource: str, payload: dict) -> dict:
        return self._create(resource, payload, "POST", f"/{resource}").body

    def delete(self, resource: str, scim_id: str) -> None:
        with self.lock:
            self.resources[resource].pop(scim_id, None)

    # ---------------------------------------------------------------- the API
    def handle(self, method: str, path: str, params: dict | None, body: Any) -> ScimResponse:
        params = dict(params or {})
        with self.lock:
            self.requests.append((method, path, params, copy.deepcopy(body)))
            hooks = [h for h in self.intercepts if h.matches(method, path)]
            for h in hooks:
                h.hits += 1
        for h in hooks:
            answer = h.fn(method, path, params, body)
            if isinstance(answer, ScimResponse):
                return answer
        with self.lock:
            parts = path.strip("/").split("/")
            resource = parts[0]
            if resource not in self.resources or len(parts) > 2:
                raise NotFound(f"{method} {path} → 404: no such endpoint", status=404, method=method, path=path)
            if len(parts) == 1:
                if method == "GET":
                    return self._list(resource, params)
                if method == "POST":
                    return self._create(resource, body, method, path)
                raise PermanentError(f"{method} {path} → 405", status=405, method=method, path=path)
            scim_id = parts[1]
            current = self.resources[resource].get(scim_id)
            if current is None:
                raise NotFound(f"{method} {path} → 404: resource {scim_id} not found", status=404, method=method, path=path)
            if method == "GET":
                return ScimResponse(200, self._out(current, params), self._etag(current))
            if method == "DELETE":
                del self.resources[resource][scim_id]
                return ScimResponse(204, None, None)
            if method == "PUT":
                updated = {k: v for k, v in body.items() if k not in ("id", "meta")}
                updated.update(id=scim_id, meta=current["meta"])
                self._check_unique(resource, updated, method, path, own=scim_id)
                return self._store(resource, updated, 200)
            if method == "PATCH":
                updated = copy.deepcopy(current)
                for op in body.get("Operations") or []:
                    self._apply(updated, op, method, path)
                self._check_unique(resource, updated, method, path, own=scim_id)
                self._check_members(resource, updated, method, path, before=current)
                return self._store(resource, updated, 200)
        raise PermanentError(f"{method} {path} → 405", status=405, method=method, path=path)

    def _etag(self, item: dict) -> str:
        return f'W/"{item["meta"]["version"]}"'

    def _out(self, item: dict, params: dict) -> dict:
        out = copy.deepcopy(item)
        for attr in str(params.get("excludedAttributes") or "").split(","):
            if attr.strip():
                out.pop(attr.strip(), None)
        return out

    def _store(self, resource: str, item: dict, status: int) -> ScimResponse:
        item["meta"] = {**item["meta"], "version": item["meta"]["version"] + 1}
        self.resources[resource][item["id"]] = item
        return ScimResponse(status, copy.deepcopy(item), self._etag(item))

    def _check_unique(self, resource: str, item: dict, method: str, path: str, own: str | None = None) -> None:
        if resource != "Users":
            return
        name = str(item.get("userName") or "").casefold()
        if not name:
            raise PermanentError(f"{method} {path} → 400: userName is required", status=400, scim_type="invalidValue",
                                 method=method, path=path)
        for other in self.resources["Users"].values():
            if other["id"] != own and str(other.get("userName", "")).casefold() == name:
                raise Conflict(f"{method} {path} → 409: userName {item['userName']!r} is taken", status=409,
                               scim_type="uniqueness", method=method, path=path)

    def _check_members(self, resource: str, item: dict, method: str, path: str, before: dict | None = None) -> None:
        """A strict SP: every member a request adds to a group must be a user it holds."""
        if resource != "Groups" or not self.strict_members:
            return
        values = lambda group: {str(m.get("value")) for m in (group or {}).get("members") or []}
        unknown = sorted(values(item) - values(before) - set(self.resources["Users"]))
        if unknown:
            raise PermanentError(f"{method} {path} → 400: unknown member id(s) {', '.join(unknown[:5])}", status=400,
                                 scim_type="invalidValue", method=method, path=path)

    def _create(self, resource: str, payload: dict, method: str, path: str) -> ScimResponse:
        item = {k: copy.deepcopy(v) for k, v in (payload or {}).items() if k not in ("id", "meta")}
        self._check_unique(resource, item, method, path)
        if resource == "Groups" and not item.get("displayName"):
            raise PermanentError(f"{method} {path} → 400: displayName is required", status=400, method=method, path=path)
        self._check_members(resource, item, method, path)
        item.setdefault("schemas", [USER_SCHEMA if resource == "Users" else GROUP_SCHEMA])
        item["id"] = f"{resource[0].lower()}{next(self._ids):05d}"
        item["meta"] = {"resourceType": resource[:-1], "version": 0}
        return self._store(resource, item, 201)

    def _list(self, resource: str, params: dict) -> ScimResponse:
        items = list(self.resources[resource].values())
        if params.get("filter"):
            m = _FILTER.match(params["filter"])
            if not m:
                raise PermanentError(f"GET /{resource} → 400: unsupported filter", status=400, scim_type="invalidFilter",
                                     method="GET", path=f"/{resource}")
            attr, value = m["attr"], m["value"].replace('\\"', '"').replace("\\\\", "\\")
            items = [i for i in items if _matches(i, attr, value)]
        start = max(1, int(params.get("startIndex") or 1))
        count = int(params.get("count") or 100)
        page = items[start - 1 : start - 1 + count]
        return ScimResponse(200, {"schemas": [LIST_SCHEMA], "totalResults": len(items), "startIndex": start,
                                  "itemsPerPage": len(page), "Resources": [self._out(i, params) for i in page]}, None)

    def _apply(self, item: dict, op: dict, method: str, path: str) -> None:
        kind = str(op.get("op") or "").lower()
        target = op.get("path")
        value = copy.deepcopy(op.get("value"))
        bad = lambda why, scim_type="invalidPath": PermanentError(f"{method} {path} → 400: {why}", status=400,
                                                                  scim_type=scim_type, method=method, path=path)
        if kind not in ("add", "replace", "remove"):
            raise bad(f"unknown op {op.get('op')!r}", "invalidSyntax")
        if not target:
            if kind == "remove" or not isinstance(value, dict):
                raise bad("a remove needs a path", "noTarget")
            item.update(value)
            return
        member = _MEMBER_PATH.match(target)
        if member:
            if kind != "remove":
                raise bad(f"cannot {kind} {target}")
            item["members"] = [m for m in item.get("members") or [] if m.get("value") != member["value"]]
            return
        if target.lower() in ("members", "emails", "phonenumbers"):
            attr = {"members": "members", "emails": "emails", "phonenumbers": "phoneNumbers"}[target.lower()]
            entries = item.setdefault(attr, [])
            if kind == "remove" and isinstance(value, list):  # Entra's remove-by-value
                drop = {v.get("value") for v in value}
                item[attr] = [e for e in entries if e.get("value") not in drop]
            elif kind == "remove":
                item.pop(attr, None)
            elif kind == "replace":
                item[attr] = list(value or [])
            else:
                entries.extend(v for v in value or [] if v not in entries)
            return
        multi = _MULTI_PATH.match(target)
        if multi:
            entries = [e for e in item.get(multi["attr"]) or [] if str(e.get("type", "")).lower() == multi["type"].lower()]
            if not entries:
                if kind == "remove":
                    return
                raise bad(f"no {multi['attr']} of type {multi['type']}", "noTarget")
            if kind == "remove" and not multi["sub"]:
                item[multi["attr"]] = [e for e in item[multi["attr"]] if e not in entries]
            elif kind == "remove":
                entries[0].pop(multi["sub"], None)
            else:
                entries[0][multi["sub"] or "value"] = value
            return
        container, key = _container(item, target)
        if container is None:
            raise bad(f"unsupported path {target!r}")
        if kind == "remove":
            container.pop(key, None)
        else:
            container[key] = value


class InMemoryScimClient(ScimClient):
    """The real `ScimClient` (its request loop, resource methods and paging), with the network swapped
    for the in-memory SP: only `_request_once` differs."""

    def __init__(self, sp: InMemoryScim, base_url: str, token: str, *, on_exchange=None, retry_wait=None):
        super().__init__(base_url, token, session=_NO_NETWORK, on_exchange=on_exchange, retry_wait=retry_wait)
        self.sp = sp

    def _request_once(self, method: str, path: str, *, params: dict | None = None, body: Any = None,
                      headers: dict | None = None) -> ScimResponse:
        started = time.monotonic()
        try:
            if self.token != self.sp.token:
                raise AuthError(f"{method} {path} → 401: invalid bearer token", status=401, method=method, path=path)
            answer = self.sp.handle(method, unquote(path), params, body)
        except ScimError as exc:
            self._record(method, path, exc.status, started, type(exc).__name__)
            raise
        self._record(method, path, answer.status, started, None)
        return answer


_NO_NETWORK = object()  # ScimClient wants a session; this client never sends a request over one


def _matches(item: dict, attr: str, value: str) -> bool:
    if attr.lower() == "emails.value":
        candidates = [e.get("value") for e in item.get("emails") or []]
    else:
        container, key = _container(item, attr, create=False)
        candidates = [container.get(key)] if container is not None else []
    exact = attr.lower() in _CASE_EXACT
    return any(c is not None and (str(c) == value if exact else str(c).casefold() == value.casefold()) for c in candidates)


def _container(item: dict, path: str, create: bool = True) -> tuple[dict | None, str]:
    """The dict holding `path` and the key in it: `title`, `name.givenName`, `urn:...:User:department`."""
    if path.startswith("urn:"):
        schema, _, attr = path.rpartition(":")
        if schema != ENTERPRISE_SCHEMA:
            return None, attr
        if create:
            return item.setdefault(schema, {}), attr
        return item.get(schema), attr
    if "." in path:
        attr, _, sub = path.partition(".")
        if create:
            inner = item.setdefault(attr, {})
            return (inner if isinstance(inner, dict) else None), sub
        inner = item.get(attr)
        return (inner if isinstance(inner, dict) else None), sub
    if not re.fullmatch(r"[A-Za-z]\w*", path):
        return None, path
    return item, path
