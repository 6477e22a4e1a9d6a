"""Secrets (signing keys, SCIM tokens) as SSM SecureString parameters under SSM_PREFIX; never in table items."""
from __future__ import annotations

import threading
import time

_CACHE_SECONDS = 300


class SecretStore:
    """Reads and writes secrets by relative name, e.g. `apps/officespace/scim-token`."""

    def __init__(self, ssm, prefix: str):
        self.ssm = ssm
        self._prefix = prefix.rstrip("/")
        self._cache: dict[str, tuple[float, str]] = {}
        self._lock = threading.Lock()

    def _name(self, name: str) -> str:
        return f"{self._prefix}/{name.lstrip('/')}"

    def put(self, name: str, value: str) -> None:
        self.ssm.put_parameter(Name=self._name(name), Value=value, Type="SecureString", Overwrite=True)
        with self._lock:
            self._cache[name] = (time.monotonic(), value)

    def create(self, name: str, value: str) -> bool:
        """Store `value` only if no secret of that name exists (True when this call stored it). Reads nothing:
        a function that may create a key need not be allowed to read it (SSM PutParameter, Overwrite off)."""
        try:
            self.ssm.put_parameter(Name=self._name(name), Value=value, Type="SecureString", Overwrite=False)
        except self.ssm.exceptions.ParameterAlreadyExists:
            return False
        return True

    def get(self, name: str) -> str | None:
        with self._lock:
            hit = self._cache.get(name)
        if hit and time.monotonic() - hit[0] < _CACHE_SECONDS:
            return hit[1]
        try:
            value = self.ssm.get_parameter(Name=self._name(name), WithDecryption=True)["Parameter"]["Value"]
        except self.ssm.exceptions.ParameterNotFound:
            return None
        with self._lock:
            self._cache[name] = (time.monotonic(), value)
        return value

    def invalidate(self, name: str) -> None:
        """Forget the cached value (e.g. after the SP refused the token), so the next get reads it anew."""
        with self._lock:
            self._cache.pop(name, None)

    def delete(self, name: str) -> None:
        try:
            self.ssm.delete_parameter(Name=self._name(name))
        except self.ssm.exceptions.ParameterNotFound:
            pass
        with self._lock:
            self._cache.pop(name, None)

    def delete_prefix(self, name: str) -> None:
        """Delete every secret under a relative path (an app's keys and token when the app goes). The names are
        listed with DescribeParameters, which returns no value: GetParametersByPath would need a grant that
        returns every secret below the path (signing keys included) to whoever holds it."""
        paginator = self.ssm.get_paginator("describe_parameters")
        filters = [{"Key": "Path", "Option": "Recursive", "Values": [self._name(name)]}]
        names = [p["Name"] for page in paginator.paginate(ParameterFilters=filters) for p in page["Parameters"]]
        for i in range(0, len(names), 10):
            self.ssm.delete_parameters(Names=names[i : i + 10])
        with self._lock:
            for key in [k for k in self._cache if k.startswith(name)]:
                self._cache.pop(key, None)
