"""The adversarial suite's shared read-only workspace (built once per process)."""

import pytest
from adv_fixtures import workspace


@pytest.fixture(scope="session")
def ws():
    return workspace()
