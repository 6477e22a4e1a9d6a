"""SAML integration tests: the IdP driven over HTTP, python3-saml as a strict SP.

They run against the full local stack (`python -m idp_local`, the `local_stack` fixture).
"""

import pytest


@pytest.fixture(scope="session")
def idp_stack(local_stack):
    """The full local stack (`python -m idp_local`), driven over real HTTP."""
    return local_stack


@pytest.fixture(scope="session")
def admin(idp_stack):
    from idp_testing.saml_browser import Admin

    return Admin(idp_stack.base_url, idp_stack.admin_token)


@pytest.fixture
def world(env):
    """``env`` plus an app ``open`` (unsigned requests) bound to Ada, and the admin API (idp_testing.mfa_http)."""
    from idp_testing.mfa_http import mfa_world

    return mfa_world(env)
