"""Fault tests stop and start components of the live cluster (the API server, Kueue, Karpenter):
they run on their own, one at a time, after the integration suite (`make test` runs them with
`-p no:xdist`), never beside other tests."""
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent.parent


class Components:
    def __init__(self, cluster):
        self.state = str(Path(cluster.kubeconfig).parent)
        self.stopped = []

    def _run(self, cmd, name):
        env = {"GPUAAS_CLUSTER_DIR": self.state, "PATH": "/usr/bin:/bin"}
        import os
        env = dict(os.environ, **env)
        subprocess.run([sys.executable, str(REPO / "tests" / "cluster" / "cluster.py"), cmd, name],
                       check=True, env=env, capture_output=True, text=True, timeout=180)

    def stop(self, name):
        self._run("stop", name)
        self.stopped.append(name)

    def start(self, name):
        self._run("start", name)
        if name in self.stopped:
            self.stopped.remove(name)


@pytest.fixture
def components(cluster):
    """``components.stop(name)`` / ``.start(name)``; whatever a test left stopped is started again."""
    c = Components(cluster)
    yield c
    for name in list(c.stopped):
        c.start(name)
