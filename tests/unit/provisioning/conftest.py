"""Engine unit tests: the in-memory provisioning state and SCIM SP of idp_testing, no moto, no sockets."""
import pytest

from idp.provisioning.engine import Engine
from idp_testing.directory import FakeDirectory, Tokens
from idp_testing.provisioning_state import InMemoryProvisioningState, ManualClock, stores_of
from idp_testing.scim_memory import InMemoryScim

APP = "office"


@pytest.fixture
def clock():
    return ManualClock()


@pytest.fixture
def state(clock):
    return InMemoryProvisioningState(clock)


@pytest.fixture
def sp():
    return InMemoryScim(token="secret")


@pytest.fixture
def directory(sp):
    d = FakeDirectory()
    d.add_app(APP, sp.base_url)
    return d


@pytest.fixture
def tokens():
    return Tokens(office="secret")


@pytest.fixture
def slept():
    return []


@pytest.fixture
def engine(directory, state, tokens, sp, slept):
    return Engine(directory, stores_of(state), tokens, client_factory=sp.client_factory, sleep=slept.append)


@pytest.fixture
def bound_user(directory):
    """Add a user bound to the app directly; returns its id."""

    def add(**fields) -> str:
        uid = directory.add_user(**fields)
        directory.bind_user(APP, uid)
        return uid

    return add
