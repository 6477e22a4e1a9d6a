"""SAML integration tests: the IdP driven over HTTP, python3-saml as a strict SP.

They run against the full local stack (`python -m idp.local`, the `local_stack` fixture).
"""

import sys
from pathlib import Path

import pytest

_HERE = Path(__file__).resolve().parent
for extra in (_HERE, _HERE.parents[1] / "unit" / "saml"):
    if str(extra) not in sys.path:
        sys.path.insert(0, str(extra))


@pytest.fixture(scope="session")
def idp_stack(local_stack):
    """The full local stack (`python -m idp.local`), driven over real HTTP."""
    return local_stack


@pytest.fixture(scope="session")
def admin(idp_stack):
    from saml_browser import Admin

    return Admin(idp_stack.base_url, idp_stack.admin_token)
