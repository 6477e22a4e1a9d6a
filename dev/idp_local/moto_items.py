"""DynamoDB answers of the embedded AWS without walking every attribute value through the API model.

moto 5.2.5 writes every answer by walking the service's botocore model: each attribute value of each
item is a structure of ten optional members (S, N, B, SS, NS, BS, M, L, NULL, BOOL), and each member is
looked up through moto's attribute pickers and alias checks. A query of ten small items took 14 ms of
CPU, 80% of it in that walk (cProfile of the embedded AWS); the stack's provisioning waited on it.

moto's items already hold attribute values nearly in the wire form (`Item.to_json()`: `{"S": "..."}`,
numbers as strings; binaries as bytes, which the walk writes as base64 text), so this version writes an
`AttributeValue` directly, binaries encoded as the walk encodes them: what the walk would have written
(the tests compare both on every type). A value of any other shape is walked as before.
`install()` patches moto's JSON serializer for this process.
"""
from __future__ import annotations

import base64
import functools
from typing import Any

ORIGINAL: dict[str, Any] = {}


def _text(blob: Any) -> str | None:
    """A binary as the wire writes it (base64 text), as moto's walk does; None for what is neither."""
    if isinstance(blob, (bytes, bytearray)):
        return base64.b64encode(blob).strip().decode("utf-8")
    return blob if isinstance(blob, str) else None


def _wire(value: Any) -> dict | None:
    """An attribute value in DynamoDB's JSON (one key of the ten, binaries as base64 text), or None when
    `value` is not a shape this knows (then moto's walk writes it)."""
    if not isinstance(value, dict) or len(value) != 1:
        return None
    (kind, content), = value.items()
    if kind in ("S", "N"):
        return value if isinstance(content, str) else None
    if kind == "B":
        text = _text(content)
        return None if text is None else {"B": text}
    if kind in ("NULL", "BOOL"):
        return value if isinstance(content, bool) else None
    if kind in ("SS", "NS", "BS"):
        if not isinstance(content, list):
            return None
        out = [_text(v) if kind == "BS" else v for v in content]
        return {kind: out} if all(isinstance(v, str) for v in out) else None
    if kind == "M" and isinstance(content, dict):
        members = {k: _wire(v) for k, v in content.items()}
        return None if any(v is None for v in members.values()) else {"M": members}
    if kind == "L" and isinstance(content, list):
        elements = [_wire(v) for v in content]
        return None if any(v is None for v in elements) else {"L": elements}
    return None


def _install() -> None:
    from moto.core.serialize import BaseJSONSerializer

    ORIGINAL.setdefault("structure", BaseJSONSerializer._serialize_type_structure)

    def _serialize_type_structure(self, serialized, value, shape, key) -> None:
        wire = _wire(value) if key and shape.name == "AttributeValue" else None
        if wire is not None:
            self._default_serialize(serialized, wire, shape, key)
            return
        ORIGINAL["structure"](self, serialized, value, shape, key)

    BaseJSONSerializer._serialize_type_structure = _serialize_type_structure


@functools.cache
def install() -> None:
    """Patch moto once per process; a second call does nothing."""
    _install()
