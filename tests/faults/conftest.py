"""Fault tests stop and start components of the live cluster (the API server, Kueue, Karpenter):
they run on their own, one at a time, after the integration suite (`make test` runs them with
`-p no:xdist`), never beside other tests."""
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent.parent


class Components:
    def __init__(self, cluster):
        self.state = str(Path(cluster.kubeconfig).parent)
        self.stopped = []
        self.restarted = set()

    def _run(self, cmd, name):
        env = dict(os.environ, GPUAAS_CLUSTER_DIR=self.state, PATH="/usr/bin:/bin")
        subprocess.run([sys.executable, str(REPO / "tests" / "cluster" / "cluster.py"), cmd, name],
                       check=True, env=env, capture_output=True, text=True, timeout=180)

    def stop(self, name):
        self._run("stop", name)
        self.stopped.append(name)

    def start(self, name):
        self._run("start", name)
        if name in self.stopped:
            self.stopped.remove(name)
            self.restarted.add(name)


def kueue_takes_new_jobs(core_v1, timeout=120):
    """Wait until Kueue makes a Workload for a Job in a namespace created just now.

    After an API server restart each informer of Kueue lists and watches again, a few seconds
    apart. Kueue v0.19's Job reconciler looks the Job's namespace up in its cache and, when it is
    not there yet, drops the Job without requeueing it (jobframework/reconciler.go, "Namespace
    not found; skipping selector check"): a Job created in a new namespace while the Namespace
    informer is still behind the Job informer never gets a Workload. A test that restarted the API
    server therefore hands the cluster on only once a probe Job in a fresh namespace gets its
    Workload; each probe that Kueue dropped is replaced by a new one."""
    from kubernetes import client
    from kubernetes.dynamic import DynamicClient
    dyn = DynamicClient(core_v1.api_client)
    batch = client.BatchV1Api(core_v1.api_client)
    workloads = dyn.resources.get(api_version="kueue.x-k8s.io/v1beta2", kind="Workload")
    deadline = time.time() + timeout
    tried = []
    try:
        while time.time() < deadline:
            ns = "flt-probe-" + uuid.uuid4().hex[:6]
            tried.append(ns)
            core_v1.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=ns)))
            batch.create_namespaced_job(ns, {
                "apiVersion": "batch/v1", "kind": "Job",
                "metadata": {"name": "probe", "labels": {"kueue.x-k8s.io/queue-name": "probe"}},
                "spec": {"suspend": True, "template": {"spec": {"restartPolicy": "Never", "containers": [
                    {"name": "c", "image": "registry.invalid/probe:1"}]}}}})
            probe_deadline = min(deadline, time.time() + 10)
            while time.time() < probe_deadline:
                if workloads.get(namespace=ns).items:
                    return
                time.sleep(0.5)
        raise AssertionError("Kueue made no Workload for a probe Job in a new namespace within %ds after the "
                             "API server restart (namespaces tried: %s)" % (timeout, ", ".join(tried)))
    finally:
        for ns in tried:
            try:
                core_v1.delete_namespace(ns, propagation_policy="Background")
            except Exception:  # noqa: BLE001 - best effort
                pass


@pytest.fixture
def components(cluster, core_v1):
    """``components.stop(name)`` / ``.start(name)``; whatever a test left stopped is started again,
    and after an API server restart the next test starts once Kueue takes new Jobs again."""
    c = Components(cluster)
    yield c
    for name in list(c.stopped):
        c.start(name)
    if "kube-apiserver" in c.restarted:
        kueue_takes_new_jobs(core_v1)
