"""A user's sign-in methods (second factors) as the account page and the admin API show them: never a seed or a key."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Factor:
    """A sign-in method as the account page and the admin API show it (never a seed or a key)."""

    id: str
    type: str
    name: str | None
    created_at: str | None
    last_used_at: str | None

    @classmethod
    def of(cls, view: dict[str, Any]) -> Factor:
        return cls(str(view["id"]), str(view["type"]), view.get("name"), view.get("created_at"), view.get("last_used_at"))

    def as_dict(self) -> dict[str, str | None]:
        return {"id": self.id, "type": self.type, "name": self.name, "created_at": self.created_at,
                "last_used_at": self.last_used_at}
