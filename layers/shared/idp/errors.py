"""The one error type the API turns into a 4xx answer."""
from __future__ import annotations


class ApiError(Exception):
    """An error the caller can fix: rendered as {"error": code, "message": message} with `status`."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    def body(self) -> dict:
        return {"error": self.code, "message": self.message}


def not_found(kind: str, ident: str) -> ApiError:
    shown = ident if len(ident) <= 100 else ident[:100] + "…"
    return ApiError(404, "not_found", f"{kind} '{shown}' does not exist")


def conflict(message: str) -> ApiError:
    return ApiError(409, "conflict", message)
