"""Two clusters side by side (inventory/multi): site.yml applies each cluster's own plan to it,
both at once (forks), and neither gets anything of the other's plan.

The second cluster is started by this test (its own state directory and ports, the same cached
binaries) and stopped at the end."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
from kubernetes import client, config
from kubernetes.client.rest import ApiException

REPO = Path(__file__).resolve().parents[3]
SECOND_DIR = REPO / ".cluster-b"


@pytest.fixture(scope="module")
def second_cluster():
    env = dict(os.environ, GPUAAS_CLUSTER_DIR=str(SECOND_DIR),
               GPUAAS_PORT_OFFSET=str(int(os.environ.get("GPUAAS_PORT_OFFSET", "0")) + 300))
    cmd = [sys.executable, str(REPO / "tests" / "cluster" / "cluster.py")]
    out = subprocess.run(cmd + ["up"], env=env, check=True, capture_output=True, text=True, cwd=str(REPO))
    kubeconfig = out.stdout.strip().splitlines()[-1].split()[0]
    try:
        yield kubeconfig
    finally:
        subprocess.run(cmd + ["down"], env=env, check=False, capture_output=True, text=True, cwd=str(REPO))


def objects(kubeconfig):
    api = config.new_client_from_config(config_file=kubeconfig, context="gpuaas-local")
    custom = client.CustomObjectsApi(api)
    core = client.CoreV1Api(api)
    sched = client.SchedulingV1Api(api)

    def names(fn, *args):
        try:
            return sorted(o["metadata"]["name"] for o in fn(*args)["items"])
        except ApiException as e:
            if e.status == 404:
                return []
            raise

    return {
        "namespaces": sorted(n.metadata.name for n in core.list_namespace().items
                             if n.metadata.name in ("research", "serving")),
        "clusterqueues": names(custom.list_cluster_custom_object, "kueue.x-k8s.io", "v1beta2", "clusterqueues"),
        "resourceflavors": names(custom.list_cluster_custom_object, "kueue.x-k8s.io", "v1beta2", "resourceflavors"),
        "localqueues": sorted("%s/%s" % (o["metadata"]["namespace"], o["metadata"]["name"]) for o in
                              custom.list_cluster_custom_object("kueue.x-k8s.io", "v1beta2", "localqueues")["items"]),
        "nodepools": names(custom.list_cluster_custom_object, "karpenter.sh", "v1", "nodepools"),
        "priorityclasses": sorted(p.metadata.name for p in sched.list_priority_class().items
                                  if not p.metadata.name.startswith("system-")),
        "parents": [c.metadata.name for c in core.list_namespaced_config_map("kube-system").items
                    if c.metadata.name.startswith("gpuaas-plan-gpu-")],
    }


def test_site_applies_each_clusters_own_plan(ansible, cluster, second_cluster):
    env = {"GPUAAS_KUBECONFIG_GPU_A": cluster.kubeconfig, "GPUAAS_KUBECONFIG_GPU_B": second_cluster}
    os.environ.update(env)  # read by the inventory's env lookups in the ansible-playbook process
    try:
        rc, doc = ansible.playbook("playbooks/site.yml", inventory=REPO / "inventory" / "multi")
        assert rc == 0
        assert doc["stats"]["gpu-a"]["changed"] == 1 and doc["stats"]["gpu-b"]["changed"] == 1, doc["stats"]
        a, b = objects(cluster.kubeconfig), objects(second_cluster)
        assert "research-training" in a["clusterqueues"] and "inference" not in a["clusterqueues"], a
        assert "research/train" in a["localqueues"] and not [q for q in a["localqueues"] if q.startswith("serving/")], a
        assert a["namespaces"] == ["research"] and a["parents"] == ["gpuaas-plan-gpu-a"], a
        assert "burst-l4" not in a["nodepools"] and "inference-critical" not in a["priorityclasses"], a
        assert b["clusterqueues"] == ["inference"] and b["localqueues"] == ["serving/online"], b
        assert b["namespaces"] == ["serving"] and b["parents"] == ["gpuaas-plan-gpu-b"], b
        assert "burst-l4" in b["nodepools"] and "inference-critical" in b["priorityclasses"], b
        assert "a100" not in b["resourceflavors"] and "l4" in b["resourceflavors"], b
        # both at once again: nothing changes on either
        rc, again = ansible.playbook("playbooks/site.yml", inventory=REPO / "inventory" / "multi")
        assert again["stats"]["gpu-a"]["changed"] == 0 and again["stats"]["gpu-b"]["changed"] == 0, again["stats"]
    finally:
        ansible.playbook("playbooks/site.yml", inventory=REPO / "inventory" / "multi", fail_ok=True,
                         extra_vars={"cluster_plan_state": "absent", "cluster_plan_force": True})
        for key in env:
            os.environ.pop(key, None)
