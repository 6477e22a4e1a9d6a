import pytest

from idp_testing.aws import create_table
from idp_testing.directory import FakeDirectory, Tokens
from idp_testing.provisioning_state import StoresView, stores_of
from idp_testing.scim_server import ScimServer


@pytest.fixture
def prov_aws(monkeypatch):
    for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1",
                       "POWERTOOLS_METRICS_DISABLED": "true", "POWERTOOLS_TRACE_DISABLED": "true"}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    from moto import mock_aws

    with mock_aws():
        yield


@pytest.fixture
def table(prov_aws):
    return create_table()


@pytest.fixture
def scim():
    server = ScimServer(token="secret")
    yield server
    server.close()


@pytest.fixture
def directory():
    return FakeDirectory()


@pytest.fixture
def tokens():
    return Tokens(office="secret")


@pytest.fixture
def state(table):
    from idp.adapters.provisioning.stores import dynamo_stores

    return StoresView(dynamo_stores(table))


@pytest.fixture
def engine(directory, state, tokens):
    from idp.adapters.scim_client import ScimClient
    from idp.provisioning.engine import Engine

    return Engine(directory, stores_of(state), tokens, client_factory=ScimClient, timeout=(2, 5), sleep=lambda s: None)
