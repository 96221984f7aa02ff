"""Fixtures of the Kueue integration tests (helpers in kueue_helpers.py).

Names of cluster-scoped objects carry a random suffix (``sfx``) because other engineers run tests
on the same cluster at the same time; ``kq`` deletes what a test registered at teardown.
"""
import uuid

import pytest

from kueue_helpers import Kq, run_tasks


@pytest.fixture
def sfx():
    return uuid.uuid4().hex[:6]


@pytest.fixture
def kq(dyn, api_client):
    helper = Kq(dyn, api_client)
    yield helper
    helper.cleanup()


@pytest.fixture
def batch(ansible):
    return lambda tasks: run_tasks(ansible, tasks)
