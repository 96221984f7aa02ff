"""Fixtures of the workload tests: the Kueue tests' helpers (live reads, bounded waits, teardown
of the cluster-scoped objects a test registers with ``kq.track``) and a random name suffix."""
import sys
import uuid
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "kueue"))
from kueue_helpers import Kq  # noqa: E402


@pytest.fixture
def sfx():
    return uuid.uuid4().hex[:6]


@pytest.fixture
def kq(dyn, api_client):
    helper = Kq(dyn, api_client)
    yield helper
    helper.cleanup()
