"""The app's provisioning status in DynamoDB: `APP#{slug}` / `SCIM#STATUS` (state ok | failing |
auth_failed | halted, reason, the circuit breaker's failure count and `open_until`, the last error
and the last reconcile). The breaker's numbers and reasons come from `idp.provisioning.policy`."""
from __future__ import annotations

from decimal import Decimal
from typing import Any, Callable

from botocore.exceptions import ClientError

from idp.adapters.provisioning.items import app_pk, condition_failed, from_ddb, number
from idp.kernel.clock import now_iso_ms as now_iso
from idp.provisioning.policy import auth_failure_reason, breaker_trip

STATUS_SK = "SCIM#STATUS"


class DynamoAppStatus:
    def __init__(self, table, clock: Callable[[], float]):
        self.table = table
        self.clock = clock

    def app_status(self, slug: str) -> dict:
        item = self.table.get_item(Key={"pk": app_pk(slug), "sk": STATUS_SK}, ConsistentRead=True).get("Item")
        return from_ddb(item) if item else {"state": "ok", "consecutive_failures": 0}

    def _update(self, slug: str, sets: dict[str, Any], removes: list[str] = (), add: dict[str, int] | None = None,
                return_new: bool = False) -> dict:
        names, values, parts = {}, {}, []
        for i, (k, v) in enumerate(sets.items()):
            names[f"#k{i}"] = k
            values[f":v{i}"] = Decimal(str(v)) if isinstance(v, float) else v
            parts.append(f"#k{i} = :v{i}")
        expr = "SET " + ", ".join(parts) if parts else ""
        if add:
            adds = []
            for j, (k, v) in enumerate(add.items()):
                names[f"#a{j}"] = k
                values[f":a{j}"] = v
                adds.append(f"#a{j} :a{j}")
            expr += " ADD " + ", ".join(adds)
        if removes:
            rem = []
            for j, k in enumerate(removes):
                names[f"#r{j}"] = k
                rem.append(f"#r{j}")
            expr += " REMOVE " + ", ".join(rem)
        kwargs: dict[str, Any] = {"Key": {"pk": app_pk(slug), "sk": STATUS_SK}, "UpdateExpression": expr.strip(),
                                  "ExpressionAttributeNames": names}
        if values:
            kwargs["ExpressionAttributeValues"] = values
        if return_new:
            kwargs["ReturnValues"] = "ALL_NEW"
        answer = self.table.update_item(**kwargs)
        return from_ddb(answer.get("Attributes") or {})

    def breaker_open_for(self, status: dict) -> float:
        """Seconds until the app's breaker lets requests through again (0: closed or half-open)."""
        until = float(status.get("open_until") or 0)
        return max(0.0, until - self.clock())

    def _close(self, slug: str) -> None:
        self._update(slug, {"state": "ok", "consecutive_failures": 0, "window_successes": 0, "recovered_at": now_iso()},
                     removes=["open_until", "reason", "opened_at_failures"])

    def note_success(self, slug: str, status: dict | None = None, window: float = 60.0, requests: int = 1) -> dict | None:
        """Returns the status the write left when the answer says it (counted in a healthy window),
        None when the caller must read it again."""
        if status is not None:  # as the caller read it: close only what is open or counting
            if status.get("state", "ok") != "ok" or status.get("consecutive_failures") or status.get("open_until"):
                self._close(slug)
            return None
        new = self._count(slug, "window_successes", window, {}, by=max(1, int(requests)))
        if new.get("state", "ok") not in ("ok", "halted") or new.get("open_until"):
            self._close(slug)
            return None
        return new or None

    def _count(self, slug: str, counter: str, window: float, sets: dict[str, Any], by: int = 1) -> dict:
        """Add one to `counter` in the app's window, atomically: one conditional UpdateItem while the
        window is fresh (or the breaker open), else one that starts a fresh window with this event."""
        now = self.clock()
        other = "window_successes" if counter == "consecutive_failures" else "consecutive_failures"
        key = {"pk": app_pk(slug), "sk": STATUS_SK}
        names = {"#st": "state", "#c": counter, **{f"#s{i}": k for i, k in enumerate(sets)}}
        values = {":one": by, ":cut": number(now - window), ":now": number(now), ":failing": "failing",
                  **{f":s{i}": v for i, v in enumerate(sets.values())}}
        assign = "".join(f", #s{i} = :s{i}" for i in range(len(sets)))
        attempts = (
            ("SET window_at = :now" + assign + " ADD #c :one", "window_start >= :cut OR #st = :failing", {}, {}),
            ("SET #c = :one, #o = :zero, window_start = :now, window_at = :now" + assign,
             "(attribute_not_exists(window_start) OR window_start < :cut) AND (attribute_not_exists(#st) OR #st <> :failing)",
             {"#o": other}, {":zero": 0}),
        )
        for _ in range(2):  # the window may turn between the two conditional writes: try again once
            for expr, condition, more_names, more_values in attempts:
                try:
                    out = self.table.update_item(Key=key, UpdateExpression=expr, ConditionExpression=condition,
                                                 ExpressionAttributeNames={**names, **more_names},
                                                 ExpressionAttributeValues={**values, **more_values},
                                                 ReturnValues="ALL_NEW")
                    return from_ddb(out.get("Attributes") or {})
                except ClientError as exc:
                    if not condition_failed(exc):
                        raise
        return self.app_status(slug)

    def note_transient_failure(self, slug: str, message: str, *, threshold: int, base_cooldown: float,
                               max_cooldown: float, window: float = 60.0) -> float:
        """Count a transient failure in the window (a fresh one after `window` seconds, unless the
        breaker is open: then the count goes on and the cooldown doubles); open the breaker as
        `breaker_opens` says. Returns the seconds it is open for (0 when it stays closed)."""
        now = self.clock()
        item = self._count(slug, "consecutive_failures", window, {"last_error": message[:1000], "last_error_at": now_iso()})
        trip = breaker_trip(item, message, now=now, threshold=threshold, base_cooldown=base_cooldown,
                            max_cooldown=max_cooldown, window=window)
        if trip is None:
            return 0.0
        self._update(slug, trip[1])
        return trip[0]

    def note_auth_failure(self, slug: str, message: str, retry_seconds: float) -> None:
        self._update(slug, {
            "state": "auth_failed", "open_until": self.clock() + retry_seconds,
            "reason": auth_failure_reason(slug, message),
            "last_error": message[:1000], "last_error_at": now_iso(),
        })

    def note_permanent_failure(self, slug: str, message: str) -> None:
        self._update(slug, {"last_error": message[:1000], "last_error_at": now_iso()})

    def set_halted(self, slug: str, reason: str) -> None:
        self._update(slug, {"state": "halted", "reason": reason, "halted_at": now_iso()})

    def open_import_gate(self, slug: str) -> None:
        """Pushes to the app may go ahead (its import was confirmed, or its SP was empty): idp.provisioning.import_gate."""
        self._update(slug, {"import_gate": "open", "import_gate_opened_at": now_iso()})

    def reset_app(self, slug: str) -> None:
        """Close the breaker and clear a failing/halted state (new settings or token)."""
        self._update(slug, {"state": "ok", "consecutive_failures": 0, "window_successes": 0}, removes=["open_until", "reason", "opened_at_failures"])

    def note_reconcile(self, slug: str, summary: dict) -> None:
        self._update(slug, {"last_reconcile_at": now_iso(), "last_reconcile": summary})
