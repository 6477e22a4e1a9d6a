"""The app's provisioning status in DynamoDB: `APP#{slug}` / `SCIM#STATUS` (state ok | failing |
auth_failed | halted, reason, the circuit breaker's failure count and `open_until`, the last error
and the last reconcile). The breaker's numbers and reasons come from `idp.provisioning.policy`."""
from __future__ import annotations

from decimal import Decimal
from typing import Any, Callable

from idp.adapters.provisioning.items import app_pk, plain
from idp.kernel.clock import now_iso_ms as now_iso
from idp.provisioning.policy import auth_failure_reason, breaker_cooldown, breaker_reason

STATUS_SK = "SCIM#STATUS"


class DynamoAppStatus:
    def __init__(self, table, clock: Callable[[], float]):
        self.table = table
        self.clock = clock

    def app_status(self, slug: str) -> dict:
        item = self.table.get_item(Key={"pk": app_pk(slug), "sk": STATUS_SK}, ConsistentRead=True).get("Item")
        return plain(item) if item else {"state": "ok", "consecutive_failures": 0}

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
        return plain(answer.get("Attributes") or {})

    def breaker_open_for(self, status: dict) -> float:
        """Seconds until the app's breaker lets requests through again (0: closed or half-open)."""
        until = float(status.get("open_until") or 0)
        return max(0.0, until - self.clock())

    def note_success(self, slug: str, status: dict | None = None) -> None:
        status = status if status is not None else self.app_status(slug)
        if status.get("state", "ok") == "ok" and not status.get("consecutive_failures") and not status.get("open_until"):
            return
        self._update(slug, {"state": "ok", "consecutive_failures": 0, "recovered_at": now_iso()},
                     removes=["open_until", "reason"])

    def note_transient_failure(self, slug: str, message: str, *, threshold: int, base_cooldown: float,
                               max_cooldown: float) -> float:
        """Count a transient failure; open the breaker after `threshold` in a row. Returns the
        seconds the breaker is now open for (0 when it stays closed)."""
        new = self._update(slug, {"last_error": message[:1000], "last_error_at": now_iso()},
                           add={"consecutive_failures": 1}, return_new=True)
        n = int(new.get("consecutive_failures") or 0)
        if n < threshold or new.get("state") == "auth_failed":
            return 0.0
        cooldown = breaker_cooldown(n, threshold=threshold, base_cooldown=base_cooldown, max_cooldown=max_cooldown)
        self._update(slug, {"state": "failing", "open_until": self.clock() + cooldown, "reason": breaker_reason(n, message)})
        return cooldown

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
        self._update(slug, {"state": "ok", "consecutive_failures": 0}, removes=["open_until", "reason"])

    def note_reconcile(self, slug: str, summary: dict) -> None:
        self._update(slug, {"last_reconcile_at": now_iso(), "last_reconcile": summary})
