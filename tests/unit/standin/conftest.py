"""Unit tests of the OfficeSpace stand-in: no sockets (WSGI driven in-process, IdP metadata stubbed)."""
import sys
from pathlib import Path

_ROOT = Path(__file__).resolve().parents[3]
for folder in (_ROOT / "standin", Path(__file__).resolve().parent):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
