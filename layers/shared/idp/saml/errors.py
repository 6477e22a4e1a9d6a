"""Errors raised by the SAML protocol modules."""

from __future__ import annotations


class SamlRequestError(Exception):
    """A SAML message from an SP (or a browser) that we refuse.

    ``code`` is a short machine-readable reason (``malformed``, ``unknown_sp``,
    ``acs_not_registered``, ``bad_signature``, ``signature_required``, ``expired``,
    ``replayed``, ``relay_state_too_long``, ``wrong_destination``,
    ``unsupported_binding``, ``inconsistent_request``); ``message`` says what is wrong in words a human
    administrator can act on; ``status`` is the HTTP status to answer with (always 4xx).
    """

    def __init__(self, code: str, message: str, status: int = 400):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"SamlRequestError(code={self.code!r}, message={self.message!r}, status={self.status})"
