"""The gpu_job role (capacity first, then admission) on the live cluster: the job is submitted gated,
Karpenter's NodeClaims exist and are Initialized before Kueue admits it, its pods run on them, a
rerun changes nothing, and state absent releases everything; when the capacity does not come in
time, it is released and the job stays gated."""
import json
import sys
import tempfile
import time
from pathlib import Path

import pytest
from kubernetes.client.rest import ApiException

from kueue_helpers import run_tasks  # sys.path: conftest.py

NODE_CLASS = {"group": "karpenter.kwok.sh", "kind": "KWOKNodeClass", "name": "default"}


@pytest.fixture
def pool(ansible, kq, sfx, namespace):
    """A NodePool of 8-GPU nodes tainted for this test only, a flavor that sends pods there (with
    the toleration), a ClusterQueue of 8 GPUs and LocalQueue ``lq``."""
    name = "gj-" + sfx
    taint = {"key": "gpuaas.io/gj-" + sfx, "value": "true", "effect": "NoSchedule"}
    flavor = kq.track("ResourceFlavor", "gj-" + sfx)
    cq = kq.track("ClusterQueue", "gj-" + sfx)
    for r in run_tasks(ansible, [
        ("karpenter_nodepool", {"name": name, "node_class_ref": NODE_CLASS, "labels": {"gpuaas.io/pool": name},
                                "taints": [taint],
                                "requirements": [{"key": "node.kubernetes.io/instance-type", "operator": "In",
                                                  "values": ["gpu-8x-a100"]}],
                                "limits": {"nvidia.com/gpu": 16}, "wait": True}),
        ("kueue_resource_flavor", {"name": flavor, "node_labels": {"gpuaas.io/pool": name},
                                   "tolerations": [dict(taint, operator="Equal")]}),
        ("kueue_cluster_queue", {"name": cq, "resource_groups": [{"flavors": [{"name": flavor, "resources": [
            {"name": "cpu", "nominal_quota": 32}, {"name": "nvidia.com/gpu", "nominal_quota": 8}]}]}],
            "wait": True, "wait_timeout": 30}),
        ("kueue_local_queue", {"name": "lq", "namespace": namespace, "cluster_queue": cq, "wait": True}),
    ]):
        assert not r.get("failed"), r.get("msg")
    kq.namespaces.append(namespace)
    yield name
    ansible.module("karpenter_capacity", {"nodepool": name, "name": "run", "count": 0, "force": True, "wait": True},
                   fail_ok=True)
    ansible.module("karpenter_nodepool", {"name": name, "state": "absent", "force": True, "wait": True}, fail_ok=True)


def play(ansible, role_vars):
    doc = [{"hosts": "localhost", "gather_facts": False,
            "vars": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable},
            "tasks": [{"name": "run", "ansible.builtin.include_role": {"name": "gpuaas.orchestration.gpu_job"},
                       "vars": role_vars}]}]
    with tempfile.NamedTemporaryFile("w", suffix=".yml", prefix="gpu-job-", delete=False) as f:
        json.dump(doc, f)
    try:
        return ansible.playbook(f.name, fail_ok=True)
    finally:
        Path(f.name).unlink()


def tasks_of(doc):
    out = {}
    for p in doc["plays"]:
        for t in p["tasks"]:
            out.setdefault(t["task"]["name"].split(" : ")[-1], []).append(t["hosts"]["localhost"])
    return out


def claims_of(dyn, pool):
    return [c for c in dyn.resources.get(api_version="karpenter.sh/v1", kind="NodeClaim").get().to_dict()["items"]
            if c["metadata"].get("labels", {}).get("karpenter.sh/nodepool") == pool]


def ts(text):
    return time.mktime(time.strptime(text, "%Y-%m-%dT%H:%M:%SZ"))


def job_vars(sfx, namespace, pool, **extra):
    out = {"gpu_job": {"name": "train-" + sfx, "namespace": namespace, "queue": "lq", "image": "registry.local/t:1",
                       "parallelism": 2, "gpus": 4, "cpu": 1},
           "gpu_job_capacity": [{"nodepool": pool, "name": "run", "count": 1, "gpu_count": 8,
                                 "instance_types": ["gpu-8x-a100"]}],
           "gpu_job_wait_timeout": 120}
    out.update(extra)
    return out


def test_capacity_first_then_admission_rerun_and_release(ansible, dyn, kq, sfx, namespace, pool):
    rc, doc = play(ansible, job_vars(sfx, namespace, pool))
    assert rc == 0, json.dumps(doc.get("stats"))
    tasks = tasks_of(doc)
    submitted = tasks["Submit the job gated (gpuaas.io/capacity)"][0]
    assert submitted["changed"] and submitted["gates"] == ["gpuaas.io/capacity"] and submitted["phase"] in ("Submitted", "Gated")

    job = kq.job(namespace, "train-" + sfx)
    wl = kq.workload_of(namespace, "train-" + sfx)
    admitted = [c for c in wl["status"]["conditions"] if c["type"] == "Admitted"][0]
    claims = claims_of(dyn, pool)
    assert len(claims) == 1
    initialized = [c for c in claims[0]["status"]["conditions"] if c["type"] == "Initialized"][0]
    # the node was there, Initialized with its GPUs, before Kueue admitted the job
    assert ts(claims[0]["metadata"]["creationTimestamp"]) <= ts(initialized["lastTransitionTime"]) \
        <= ts(admitted["lastTransitionTime"])
    assert claims[0]["status"]["allocatable"]["nvidia.com/gpu"] == "8"
    assert "kueue.x-k8s.io/admission-gated-by" not in (job.metadata.annotations or {})
    pods = kq.running_pods(namespace, "train-" + sfx)
    assert len(pods) == 2 and {p.spec.node_name for p in pods} == {claims[0]["status"]["nodeName"]}
    report = tasks["Report"][0]["ansible_facts"]["gpu_job_report"]
    assert report["phase"] == "Running" and report["nodes"] == [claims[0]["status"]["nodeName"]]

    rc, again = play(ansible, job_vars(sfx, namespace, pool))
    assert rc == 0 and sum(s.get("changed", 0) for s in again["stats"].values()) == 0, json.dumps(again["stats"])
    assert not any(t.get("warnings") for ts_ in tasks_of(again).values() for t in ts_)

    rc, gone = play(ansible, job_vars(sfx, namespace, pool, gpu_job_state="absent", gpu_job_force=True))
    assert rc == 0
    with pytest.raises(ApiException):
        kq.job(namespace, "train-" + sfx)
    assert [c for c in claims_of(dyn, pool) if not c["metadata"].get("deletionTimestamp")] == []


def test_capacity_timeout_releases_it_and_leaves_the_job_gated(ansible, dyn, kq, sfx, namespace, pool):
    vars_ = job_vars(sfx, namespace, pool, gpu_job_capacity_timeout=1)
    rc, doc = play(ansible, vars_)
    assert rc != 0
    failed = tasks_of(doc)["Stop, the job left gated"][0]
    assert "did not come in time" in failed["msg"] and "Released the capacity groups run" in failed["msg"], failed["msg"]
    assert "gated by gpuaas.io/capacity" in failed["msg"]
    assert [c for c in claims_of(dyn, pool) if not c["metadata"].get("deletionTimestamp")] == []
    job = kq.job(namespace, "train-" + sfx)
    assert job.metadata.annotations["kueue.x-k8s.io/admission-gated-by"] == "gpuaas.io/capacity"
    assert job.spec.suspend is True
    wl = kq.workload_of(namespace, "train-" + sfx)
    assert wl is None or not kq.cond(wl, "QuotaReserved")
