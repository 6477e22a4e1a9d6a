"""Write docs/openapi.json: the admin API's OpenAPI document as the routes generate it (`make openapi`).
`--check` fails (exit 1) when the committed copy differs from what the code generates."""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / "docs" / "openapi.json"


def generated() -> str:
    sys.path.insert(0, str(ROOT / "layers" / "shared"))
    from idp.web.admin_api import openapi_json

    return openapi_json()


def main(argv: list[str]) -> int:
    text = generated()
    if "--check" in argv:
        if not TARGET.exists() or TARGET.read_text() != text:
            print(f"{TARGET.relative_to(ROOT)} is stale: run `make openapi` and commit it", file=sys.stderr)
            return 1
        return 0
    TARGET.write_text(text)
    print(f"wrote {TARGET.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
