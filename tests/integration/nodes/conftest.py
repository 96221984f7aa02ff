"""Fixtures of the node tests (helpers in nodehelpers.py)."""
import uuid

import pytest

from nodehelpers import FakeNodes


@pytest.fixture
def fake_nodes(core_v1):
    nodes = FakeNodes(core_v1, uuid.uuid4().hex[:6])
    yield nodes
    nodes.cleanup()
