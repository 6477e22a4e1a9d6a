"""The admin API and the SCIM server of the identity sources, against moto."""
from __future__ import annotations

import pytest
from tests.integration.sources.scim_harness import Harness


@pytest.fixture
def scim(aws_env) -> Harness:
    return Harness()
