"""Integration tests of the OfficeSpace stand-in over real HTTP (it and a test IdP's metadata on free ports)."""
import pytest

from idp_testing.standin_idp import MetadataServer
from officespace_standin.server import start_standin


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
