"""Integration tests of the OfficeSpace stand-in over real HTTP (it and a test IdP's metadata on free ports)."""
import sys
from pathlib import Path

import pytest

_ROOT = Path(__file__).resolve().parents[3]
for folder in (_ROOT / "standin", _ROOT / "tests" / "unit" / "standin"):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

from standin_testidp import MetadataServer  # noqa: E402

from officespace_standin.server import start_standin  # noqa: E402


@pytest.fixture
def idp_server():
    server = MetadataServer()
    yield server
    server.stop()


@pytest.fixture
def standin(idp_server):
    handle = start_standin("127.0.0.1", 0, idp_server.base_url, scim_token="test-scim-token-1234")
    yield handle
    handle.stop()
