"""Domain errors: what a caller did wrong, classified the way HTTP classifies it.

The domain and its adapters raise these without knowing who called them; the web edge turns
one into `{"error": code, "message": message}` with `status`, the console into a page.
"""
from __future__ import annotations


class DomainError(Exception):
    """An error the caller can fix: `status` is its class (400 invalid, 404 missing, 409 conflict, ...)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    def body(self) -> dict[str, str]:
        return {"error": self.code, "message": self.message}


def invalid(code: str, message: str) -> DomainError:
    return DomainError(400, code, message)


def not_found(kind: str, ident: str) -> DomainError:
    shown = ident if len(ident) <= 100 else ident[:100] + "…"
    return DomainError(404, "not_found", f"{kind} '{shown}' does not exist")


def conflict(message: str) -> DomainError:
    return DomainError(409, "conflict", message)
