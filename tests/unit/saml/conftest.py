"""SAML unit tests: no AWS, no sockets."""

import sys
from pathlib import Path

_ROOT = Path(__file__).resolve().parents[3]
# The import root of the `idp` package is layers/shared (see ARCHITECTURE.md). The editable
# install may point elsewhere while the layout settles; make the tests independent of it.
_SHARED = str(_ROOT / "layers" / "shared")
if _SHARED not in sys.path:
    sys.path.insert(0, _SHARED)
_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)
