"""The admin API and the SCIM server of the identity sources, against moto."""
from __future__ import annotations

import pytest

from idp_testing.scim_harness import Harness


@pytest.fixture
def scim(aws_env) -> Harness:
    return Harness()
